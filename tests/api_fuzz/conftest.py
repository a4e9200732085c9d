"""Starts the whole local stack (`stack up --no-build`, debug binaries) on free 127.0.0.1 ports
for the API fuzzing, and stops it at the end."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
SERVICES = ["order-svc", "payment-svc", "shipping-svc", "order-history", "composer"]
LISTEN_ENV = {
    "order-svc": "STACK_ORDER_SVC_LISTEN",
    "payment-svc": "STACK_PAYMENT_SVC_LISTEN",
    "shipping-svc": "STACK_SHIPPING_SVC_LISTEN",
    "order-history": "STACK_ORDER_HISTORY_LISTEN",
    "composer": "STACK_COMPOSER_LISTEN",
}
# the local profile's public dev credentials (platform::auth::dev), which `stack up` uses
WRITE_TOKEN = "local-dev-write-token"
ADMIN_TOKEN = "local-dev-admin-token"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ready(url):
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def stack():
    stack_bin = TARGET / "stack"
    if not stack_bin.exists():
        pytest.fail(f"{stack_bin} is missing: run `cargo build --workspace --bins` first")
    data_dir = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
    env = {name: value for name, value in os.environ.items()
           if name not in {"WRITE_TOKEN", "ADMIN_TOKEN", "READ_TOKEN", "JWT_ISSUER_KEY", "JWT_ISSUER"}}
    urls = {}
    for service in SERVICES:
        port = free_port()
        env[LISTEN_ENV[service]] = f"127.0.0.1:{port}"
        urls[service] = f"http://127.0.0.1:{port}"
    env["STACK_BROKER_LISTEN"] = f"127.0.0.1:{free_port()}"
    env["STACK_WEB_LISTEN"] = f"127.0.0.1:{free_port()}"
    env["STACK_REGISTRY_LISTEN"] = f"127.0.0.1:{free_port()}"
    env.setdefault("RUST_LOG", "warn")
    log = open(data_dir / "stack.log", "w")
    process = subprocess.Popen(
        [str(stack_bin), "up", "--no-build", "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not all(ready(url) for url in urls.values()):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the stack did not come up:\n" + (data_dir / "stack.log").read_text()[-4000:])
            time.sleep(0.25)
        service_token = subprocess.run(
            [str(stack_bin), "token", "--service"], env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()
        yield {"urls": urls, "service_token": service_token}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
