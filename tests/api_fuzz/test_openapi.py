"""Schemathesis against every service's published `/openapi.json`. Generated requests, valid
and invalid, must never get a 5xx, and every answer must match the document: its status code,
content type, headers and body schema. Invalid input must be refused. Each request bears the
credential its operation declares, as a real client's would, so the fuzzing reaches past
authorization; schemathesis also checks that a declared credential is really required.

One check is off: `positive_data_acceptance`, which expects every request the document allows
to succeed. The documents do not yet state every rule the services enforce (minimum lengths,
uuid formats, the date-or-datetime filters), so requests the document allows are still refused
with a 400 that names the field; that is a gap in the documents, listed in
docs/reliability.md, not a failure of the services.

One status is added to those that count as refusing invalid data: 414, which every service
answers to a query string over 4 KiB (docs/reliability.md); generated invalid query parameters,
repeated, reach that size.

Bounded: `API_FUZZ_EXAMPLES` examples per operation (default 25)."""

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import ADMIN_TOKEN, WRITE_TOKEN

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
# schemathesis's own list of statuses that refuse invalid data, and 414
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}})


def schema_of(service):
    @pytest.fixture(scope="session")
    def fixture(stack):
        return schemathesis.openapi.from_url(f"{stack['urls'][service]}/openapi.json", config=CONFIG)

    return fixture


order_svc_schema = schema_of("order-svc")
payment_svc_schema = schema_of("payment-svc")
shipping_svc_schema = schema_of("shipping-svc")
order_history_schema = schema_of("order-history")
composer_schema = schema_of("composer")


def bearer_for(case, stack):
    """The token of the scheme the operation declares in `security`; none when the case is a
    negative one that dropped the credential on purpose, which must then be refused."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) \
            and "authorization" not in {name.lower() for name in (case.headers or {})}:
        return {}
    declared = {name for requirement in case.operation.definition.raw.get("security") or [] for name in requirement}
    for scheme, token in [("admin_token", ADMIN_TOKEN), ("write_token", WRITE_TOKEN),
                          ("read_token", stack["service_token"])]:
        if scheme in declared:
            return {"Authorization": f"Bearer {token}"}
    return {}


def check(case, stack, service):
    base_url = stack["urls"][service]
    case.call_and_validate(base_url=base_url, headers=bearer_for(case, stack), excluded_checks=[positive_data_acceptance])
    if case.operation.path == "/admin/faults" and case.method.upper() == "PUT":
        # accepted fault settings would slow or fail every later request: undo them at once
        requests.put(f"{base_url}/admin/faults", json={"delay_ms": 0, "error_rate": 0.0},
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10).raise_for_status()


@schemathesis.pytest.from_fixture("order_svc_schema").parametrize()
@SETTINGS
def test_order_svc(case, stack):
    check(case, stack, "order-svc")


@schemathesis.pytest.from_fixture("payment_svc_schema").parametrize()
@SETTINGS
def test_payment_svc(case, stack):
    check(case, stack, "payment-svc")


@schemathesis.pytest.from_fixture("shipping_svc_schema").parametrize()
@SETTINGS
def test_shipping_svc(case, stack):
    check(case, stack, "shipping-svc")


@schemathesis.pytest.from_fixture("order_history_schema").parametrize()
@SETTINGS
def test_order_history(case, stack):
    check(case, stack, "order-history")


@schemathesis.pytest.from_fixture("composer_schema").parametrize()
@SETTINGS
def test_composer(case, stack):
    check(case, stack, "composer")
