"""Real HTTP clients, each written the ordinary way in its own language, drive the partner guide's flow
against one sandbox server process: create a workspace and two users, issue a QR link with a JSON body
and without any body, read the workspace, disconnect, get and rotate the Public API token, and meet one
error of each kind (400, 401, 404, 409). Each client is a program of its own in the folder beside this
module; it prints one `ok <step>: ...` line per step and exits non-zero at the first failed check.

The programs get the server through the environment: PARTNER_API_URL (the API's base URL),
PARTNER_ID, PARTNER_TOKEN (a partner JWT), PARTNER_BAD_TOKEN (a JWT signed with the wrong secret:
401 invalid_signature) and WORKSPACE_NAME (a display name no other client uses).

The toolchains (javac, go, node, curl) come from Debian (`make system-packages`); a missing one fails
its test, it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import make_token
from tests.servers import SandboxProcess

CLIENTS = Path(__file__).resolve().parent
PARTNER = "sandbox-partner"
# Every client prints `ok <step>: ...` for each of these, in this order.
STEPS = ("create-workspace", "create-users", "qr-with-body", "qr-without-body", "get-workspace", "disconnect",
         "token-get", "token-rotate", "token-get-after-rotate", "error-400", "error-401", "error-404", "error-409")
RUN_TIMEOUT = 120  # seconds for one client run (a JVM start, a Go build: a few seconds each)
BUILD_TIMEOUT = 300


@pytest.fixture(scope="module")
def server(start_module_sandbox) -> SandboxProcess:
    """One sandbox process (the test world, its own database) for every client of the module."""
    return start_module_sandbox()


def client_env(server: SandboxProcess, workspace_name: str, **extra: str) -> dict:
    now = int(time.time())
    return {
        **os.environ,
        "PARTNER_API_URL": f"{server.base_url}/partner/api/v1",
        "PARTNER_ID": PARTNER,
        "PARTNER_TOKEN": make_token(PARTNER, nbf=now - 60, exp=now + 600),
        "PARTNER_BAD_TOKEN": make_token(PARTNER, secret="not-the-sandbox-partner-secret-0123456789", exp=now + 600),
        "WORKSPACE_NAME": workspace_name,
        # The server is local: no proxy from the environment in between.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **extra,
    }


def require_tool(command: str, package: str) -> str:
    path = shutil.which(command)
    if path is None:
        pytest.fail(f"`{command}` is not installed: `make system-packages` installs Debian's {package} "
                    f"(apt-get install {package})", pytrace=False)
    return path


def run_client(label: str, command: list[str], server: SandboxProcess, workspace_name: str, *,
               cwd: Path = CLIENTS, **extra_env: str) -> str:
    """Runs one client program to its end and fails the test, with the program's output and the
    server log's tail, unless it exited 0 having passed every step."""
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=cwd, env=client_env(server, workspace_name, **extra_env),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout.decode(errors="replace") if isinstance(timeout.stdout, bytes) else timeout.stdout
        pytest.fail(f"the {label} client did not finish in {RUN_TIMEOUT} s:\n{output or ''}", pytrace=False)
    output = result.stdout
    took = time.monotonic() - started
    log_tail = "\n".join(server.output().splitlines()[-15:])
    report = (f"the {label} client ({' '.join(map(str, command))}) exited {result.returncode} after {took:.1f} s:\n"
              f"{output}\n--- the server's log, last lines ---\n{log_tail}")
    if result.returncode != 0:
        pytest.fail(report, pytrace=False)
    missing = [step for step in STEPS if f"ok {step}:" not in output]
    if missing:
        pytest.fail(f"steps {missing} did not report ok; {report}", pytrace=False)
    return output


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory) -> tuple[Path | None, str]:
    """PartnerClient.java compiled once for the module with Debian's javac: (its classes directory, or
    None when it could not be compiled, and why)."""
    javac = shutil.which("javac")
    if javac is None:
        return None, ("`javac` is not installed: `make system-packages` installs Debian's default-jdk-headless "
                      "(apt-get install default-jdk-headless)")
    classes = tmp_path_factory.mktemp("java-classes")
    result = subprocess.run([javac, "-d", str(classes), str(CLIENTS / "java_httpclient" / "PartnerClient.java")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        return None, f"javac failed ({result.returncode}):\n{result.stdout}"
    return classes, result.stdout


def test_python_httpx_client(server):
    run_client("Python httpx", [sys.executable, str(CLIENTS / "python_httpx" / "client.py")], server, "Client-Httpx")


def test_python_requests_client(server):
    run_client("Python requests", [sys.executable, str(CLIENTS / "python_requests" / "client.py")], server,
               "Client-Requests")


def test_node_fetch_client(server):
    node = require_tool("node", "nodejs")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = int(version.lstrip("v").split(".")[0]) if version.startswith("v") else 0
    if major < 18:
        pytest.fail(f"node {version or '(no version)'} has no built-in fetch; Node 18 or later is needed",
                    pytrace=False)
    run_client("Node fetch", [node, str(CLIENTS / "node_fetch" / "client.mjs")], server, "Client-Node")


def test_java_httpclient_client(server, java_classes):
    classes, why = java_classes
    if classes is None:
        pytest.fail(why, pytrace=False)
    java = require_tool("java", "default-jdk-headless")
    run_client("Java HttpClient", [java, "-cp", str(classes), "PartnerClient"], server, "Client-Java")


def test_go_net_http_client(server, tmp_path):
    go = require_tool("go", "golang-go")
    # Standard library only: its own build cache and GOPATH in the test's tmp dir, no module proxy,
    # no toolchain download.
    go_env = {"GOCACHE": str(tmp_path / "gocache"), "GOPATH": str(tmp_path / "gopath"), "GOFLAGS": "-mod=mod",
              "GO111MODULE": "on", "GOPROXY": "off", "GOSUMDB": "off", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off"}
    run_client("Go net/http", [go, "run", "."], server, "Client-Go", cwd=CLIENTS / "go_nethttp", **go_env)


def test_curl_client(server):
    require_tool("curl", "curl")
    bash = require_tool("bash", "bash")
    run_client("curl", [bash, str(CLIENTS / "curl" / "client.sh")], server, "Client-Curl")
