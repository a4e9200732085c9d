"""Cross-language check of the Confluent wire format with Confluent's own Python client.

Two commands, driven by the Rust integration test in stack/tests/:
  consume  reads N records from a topic and prints each decoded value as one JSON line
  produce  encodes one JSON record with AvroSerializer and produces it, keyed by order id
"""

import argparse
import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def plain(value):
    """Turns decoded Avro values into JSON-friendly ones: UUIDs as text, times as epoch millis."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def consume(args):
    registry = SchemaRegistryClient({"url": args.registry})
    deserializer = AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([args.topic])
    decoded = 0
    idle_polls = 0
    try:
        while decoded < args.count and idle_polls < 60:
            message = consumer.poll(1.0)
            if message is None:
                idle_polls += 1
                continue
            if message.error():
                raise SystemExit(f"consume error: {message.error()}")
            context = SerializationContext(args.topic, MessageField.VALUE)
            value = deserializer(message.value(), context)
            record = {"key": message.key().decode(), "value": plain(value)}
            print(json.dumps(record, sort_keys=True), flush=True)
            decoded += 1
    finally:
        consumer.close()
    if decoded < args.count:
        raise SystemExit(f"decoded only {decoded} of {args.count} records")


def to_avro_input(value):
    """Epoch millis in the JSON input become aware datetimes for timestamp-millis fields."""
    for key in ("occurred_at", "created_at", "updated_at", "placed_at"):
        if isinstance(value.get(key), int):
            value[key] = datetime.fromtimestamp(value[key] / 1000, tz=timezone.utc)
    for nested in value.values():
        if isinstance(nested, dict):
            to_avro_input(nested)
    return value


def produce(args):
    registry = SchemaRegistryClient({"url": args.registry})
    schema_text = (SCHEMAS / f"{args.topic}.avsc").read_text()
    serializer = AvroSerializer(registry, schema_text)
    record = to_avro_input(json.loads(args.json))
    payload = serializer(record, SerializationContext(args.topic, MessageField.VALUE))
    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(args.topic, key=record["order_id"].encode(), value=payload)
    if producer.flush(30) != 0:
        raise SystemExit("produce did not complete")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["consume", "produce"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", default="cross-language-check")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--json", help="the record to produce, as JSON")
    args = parser.parse_args()
    consume(args) if args.command == "consume" else produce(args)


if __name__ == "__main__":
    sys.exit(main())
