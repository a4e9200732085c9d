"""Cross-checks the registry with Confluent's own Python client.

Start a registry, then point the tests at it:

    SCHEMA_REGISTRY_URL=http://127.0.0.1:18081 pytest schema-registry/tests/python

Every test uses its own subject and leaves the global compatibility level alone, so the
tests can run against a registry that holds other data.
"""

import json
import os
import uuid

import pytest

REGISTRY_URL = os.environ.get("SCHEMA_REGISTRY_URL")

pytestmark = pytest.mark.skipif(
    not REGISTRY_URL,
    reason="SCHEMA_REGISTRY_URL is not set; start a schema registry and set it to its base URL",
)

PAYMENT_V1 = json.dumps({
    "type": "record",
    "name": "Payment",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}],
})

PAYMENT_V2_WITH_NOTE = json.dumps({
    "type": "record",
    "name": "Payment",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
})

PAYMENT_AMOUNT_AS_STRING = json.dumps({
    "type": "record",
    "name": "Payment",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "string"}],
})


@pytest.fixture
def client():
    # imported here so that a missing package fails the tests instead of the skip check
    from confluent_kafka.schema_registry import SchemaRegistryClient

    registry = SchemaRegistryClient({"url": REGISTRY_URL})
    yield registry
    registry.close()


@pytest.fixture
def subject(client):
    name = f"python-{uuid.uuid4().hex}-value"
    yield name
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    for permanent in (False, True):
        try:
            client.delete_subject(name, permanent=permanent)
        except SchemaRegistryError:
            pass


def avro(schema_str):
    from confluent_kafka.schema_registry import Schema

    return Schema(schema_str, "AVRO")


def test_register_get_by_id_latest_and_lookup(client, subject):
    schema_id = client.register_schema(subject, avro(PAYMENT_V1))

    fetched = client.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str) == json.loads(PAYMENT_V1)

    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.subject, latest.version) == (schema_id, subject, 1)

    found = client.lookup_schema(subject, avro(PAYMENT_V1))
    assert (found.schema_id, found.subject, found.version) == (schema_id, subject, 1)

    assert client.register_schema(subject, avro(PAYMENT_V1)) == schema_id
    assert client.get_versions(subject) == [1]


def test_compatibility_checks_and_incompatible_registration(client, subject):
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client.register_schema(subject, avro(PAYMENT_V1))

    assert client.test_compatibility(subject, avro(PAYMENT_V2_WITH_NOTE)) is True
    assert client.test_compatibility(subject, avro(PAYMENT_AMOUNT_AS_STRING)) is False

    with pytest.raises(SchemaRegistryError) as rejected:
        client.register_schema(subject, avro(PAYMENT_AMOUNT_AS_STRING))
    assert rejected.value.http_status_code == 409
    assert rejected.value.error_code == 409
    assert "amount" in rejected.value.error_message

    client.register_schema(subject, avro(PAYMENT_V2_WITH_NOTE))
    assert client.get_versions(subject) == [1, 2]


def test_set_and_get_compatibility(client, subject):
    assert client.get_compatibility() in {
        "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE",
    }
    assert client.set_compatibility(subject, "full") == {"compatibility": "FULL"}
    assert client.get_compatibility(subject) == "FULL"


def test_get_subjects_and_delete_subject(client, subject):
    client.register_schema(subject, avro(PAYMENT_V1))
    assert subject in client.get_subjects()

    assert client.delete_subject(subject) == [1]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)

    assert client.delete_subject(subject, permanent=True) == [1]
    assert subject not in client.get_subjects(deleted=True)


def test_errors_carry_confluent_codes(client, subject):
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    with pytest.raises(SchemaRegistryError) as unknown_id:
        client.get_schema(2_000_000_000)
    assert (unknown_id.value.http_status_code, unknown_id.value.error_code) == (404, 40403)

    with pytest.raises(SchemaRegistryError) as unknown_subject:
        client.get_latest_version(subject)
    assert (unknown_subject.value.http_status_code, unknown_subject.value.error_code) == (404, 40401)

    with pytest.raises(SchemaRegistryError) as invalid:
        client.register_schema(subject, avro('{"type": "no-such-type"}'))
    assert (invalid.value.http_status_code, invalid.value.error_code) == (422, 42201)
