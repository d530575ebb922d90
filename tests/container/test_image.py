"""The container image (Containerfile) as QA runs it in CI: built with podman on a local Debian base
(no registry is reachable here; the base is built once with mmdebstrap and kept), run with a host
directory as /data on a free port, driven through the guide's flow over HTTP, stopped with SIGTERM
(a clean exit, 0), started again on the same /data with the state kept. compose.yaml is checked as
far as it can be without its PostgreSQL image: it parses, names this image's build, and sets only
real PARTNER_SANDBOX_* variables.

Needs podman, runc and mmdebstrap (`make system-packages`). A machine where podman cannot build is a
failure here, with podman's output, not a skip."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from partner_sandbox.settings import ENV_PREFIX, Settings
from tests.helpers import ROOT, auth_headers, free_port

BASE_IMAGE = "localhost/debian-python:bookworm"
# A tag of this checkout's own: sessions of other checkouts on the machine build and run theirs.
IMAGE = f"localhost/partner-sandbox:test-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "partner-sandbox-tests"
BASE_TARBALL = CACHE / "debian-python-bookworm.tar"
BASE_PACKAGES = "python3,python3-venv,ca-certificates,passwd"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CONTAINER_UID = 10001  # the image's `sandbox` user (Containerfile)
# This machine's podman: no cgroup v2 delegation, rlimits that cannot be raised, host networking.
PODMAN_FLAGS = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
CONTAINERS_CONF = "[containers]\ndefault_ulimits = []\n"


def run(*args: str, timeout: float = 600, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """A command with its output captured; on failure (with check) the test fails showing it."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        pytest.fail(f"{args[0]} is not installed: `make system-packages` installs podman, runc and mmdebstrap")
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """`podman(*args)`: podman with this machine's settings."""
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def podman(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return run("podman", *PODMAN_FLAGS, *args, env=env, **kwargs)

    return podman


@pytest.fixture(scope="module")
def base_image(podman) -> str:
    """The local Debian base with python3 (bookworm's 3.11), built once: the tarball is cached and the
    imported image stays in podman's store, so a later run finds it and builds nothing."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    if not BASE_TARBALL.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = BASE_TARBALL.with_name(f"{BASE_TARBALL.name}.{os.getpid()}.part")  # renamed when whole
        run("mmdebstrap", "--format=tar", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(partial))
        partial.rename(BASE_TARBALL)
    podman("import", str(BASE_TARBALL), BASE_IMAGE)
    return BASE_IMAGE


@pytest.fixture(scope="module")
def image(podman, base_image) -> str:
    """The project's image, built from the Containerfile on the local base (docker format, which
    keeps the HEALTHCHECK; OCI images have none)."""
    ca = [f"--volume={CA_BUNDLE}:{CA_BUNDLE}:ro"] if Path(CA_BUNDLE).exists() else []
    podman("build", "--format", "docker", "--network", "host", *ca, "--build-arg", f"BASE={base_image}",
           "--file", str(ROOT / "Containerfile"), "--tag", IMAGE, str(ROOT), timeout=900)
    return IMAGE


class Container:
    """One run of the image on `port` of the host's network, with `data` as /data (None: the image's
    anonymous volume) and `env` as more PARTNER_SANDBOX_* settings."""

    def __init__(self, podman, image: str, port: int, *, data: Path | None = None, env: dict | None = None):
        self.podman, self.image, self.data, self.port = podman, image, data, port
        self.env = {"PARTNER_SANDBOX_PORT": str(port), "PARTNER_SANDBOX_WORKERS": "2", **(env or {})}
        self.name = f"partner-sandbox-test-{os.getpid()}-{port}"
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def start(self, wait: bool = True) -> Container:
        volume = ["--volume", f"{self.data}:/data"] if self.data is not None else []
        env = [f"--env={key}={value}" for key, value in self.env.items()]
        self.podman("run", "--detach", "--name", self.name, "--network", "host", *volume, *env, self.image)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.state() != "running":
                pytest.fail(f"the container stopped before it answered:\n{self.logs()}")
            time.sleep(0.2)
        pytest.fail(f"the container did not answer /healthz in {timeout} s:\n{self.logs()}")

    def state(self) -> str:
        return self.podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()

    def logs(self) -> str:
        done = self.podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-4000:]

    def stop(self, timeout: int = 30) -> int:
        """`podman stop`: SIGTERM to the container's PID 1, SIGKILL after `timeout` s; the exit code."""
        self.podman("stop", "--time", str(timeout), self.name, timeout=timeout + 30)
        return int(self.podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip())

    def remove(self) -> None:
        self.client.close()
        self.podman("rm", "--force", "--volumes", self.name, check=False)


@pytest.fixture
def container(podman, image, tmp_path):
    """`container()`: the image run on tmp_path/data as /data (the same directory for each start);
    `container(data=None, env={...})` for another setting."""
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, CONTAINER_UID, CONTAINER_UID)  # the image runs as a non-root user; /data is its own
    started: list[Container] = []

    def start(*, data: Path | None = data, env: dict | None = None, wait: bool = True) -> Container:
        started.append(Container(podman, image, free_port(), data=data, env=env).start(wait=wait))
        return started[-1]

    yield start
    for one in started:
        one.remove()


def workspace_with_users(creator, adder, display_name: str, *, seats: int, users: int) -> tuple[str, int]:
    """The guide's first two steps: a workspace made through `creator`, its users through `adder`;
    (the workspace's id, the first user's id)."""
    headers = auth_headers()
    r = creator.post("/partner/api/v1/workspaces", headers=headers, json={"display_name": display_name,
                                                                       "seats_purchased": seats})
    assert r.status_code == 201, r.text
    workspace = r.json()["workspace_id"]
    r = adder.post(f"/partner/api/v1/workspaces/{workspace}/users", headers=headers, json={"count": users})
    assert r.status_code in (200, 201), r.text
    return workspace, r.json()["users"][0]["user_id"]


def test_the_image_serves_the_guide_flow_stops_cleanly_and_keeps_its_state(container, podman):
    first = container()
    api, ctl, headers = "/partner/api/v1", "/sandbox/v1", auth_headers()
    assert podman("exec", first.name, "id", "-u").stdout.strip() == str(CONTAINER_UID)  # not root

    workspace, user = workspace_with_users(first.client, first.client, "Container-Store", seats=3, users=2)
    r = first.client.post(f"{api}/workspaces/{workspace}/users/{user}/qr", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["qr_link"].startswith(f"http://0.0.0.0:{first.port}/qr/")  # --public-url would set it
    r = first.client.post(f"{ctl}/workspaces/{workspace}/users/{user}/scan", headers=headers)
    assert r.status_code == 200, r.text
    details = first.client.get(f"{api}/workspaces/{workspace}", headers=headers)
    assert details.status_code == 200, details.text
    accounts = [a for a in details.json()["whatsapp_accounts"] if a["user_id"] == user]
    assert [a["connection_status"] for a in accounts] == ["connected"], details.json()
    health = podman("healthcheck", "run", first.name, check=False)
    assert health.returncode == 0, f"the image's HEALTHCHECK failed: {health.stdout}{health.stderr}"

    assert first.stop() == 0, first.logs()  # SIGTERM to PID 1: drained, exit 0
    assert (first.data / "sandbox.db").exists()

    second = container()  # a new container, the same /data
    again = second.client.get(f"{api}/workspaces/{workspace}", headers=auth_headers())
    assert again.status_code == 200, again.text
    assert [a for a in again.json()["whatsapp_accounts"] if a["user_id"] == user] == accounts
    assert second.stop() == 0, second.logs()


def test_two_replicas_of_the_image_share_one_postgresql_database(container, postgres):
    """compose.yaml's setting, with the tests' own PostgreSQL cluster for its `postgres` service (no
    image of it can be pulled here): two containers on one PARTNER_SANDBOX_DB URL, started together;
    what one does, the other sees."""
    env = {"PARTNER_SANDBOX_DB": postgres.new_database()}
    first, second = (container(data=None, env=env, wait=False) for _ in range(2))
    for replica in (first, second):
        replica.wait_ready()
    api, headers = "/partner/api/v1", auth_headers()
    workspace, user = workspace_with_users(first.client, second.client, "Replicated", seats=2, users=1)  # two replicas
    assert first.client.post(f"{api}/workspaces/{workspace}/users/{user}/qr", headers=headers).status_code == 200
    again = second.client.post(f"{api}/workspaces/{workspace}/users/{user}/qr", headers=headers)
    assert again.status_code == 200 and again.json()["previous_qr_revoked"] is True, again.text
    assert second.client.post(f"/sandbox/v1/workspaces/{workspace}/users/{user}/scan", headers=headers).status_code == 200
    details = first.client.get(f"{api}/workspaces/{workspace}", headers=headers).json()
    assert [a["user_id"] for a in details["whatsapp_accounts"]] == [user], details
    assert [first.stop(), second.stop()] == [0, 0]


def test_the_image_is_the_project_without_test_tools(podman, image):
    """No QA or test extras in the image (`pip install .` alone), the server as the default command,
    port and volume declared, a HEALTHCHECK on /healthz."""
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["Cmd"] == ["partner-sandbox", "serve"], config
    assert "8080/tcp" in config["ExposedPorts"] and "/data" in config["Volumes"], config
    assert config["User"] == "sandbox", config
    assert inspected["Healthcheck"]["Test"] == ["CMD", "sandbox-healthcheck"], inspected.get("Healthcheck")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["PARTNER_SANDBOX_HOST"], env["PARTNER_SANDBOX_PORT"], env["PARTNER_SANDBOX_DB"]) == ("0.0.0.0", "8080", "/data/sandbox.db")
    listed = podman("run", "--rm", "--network", "host", "--entrypoint", "/opt/venv/bin/pip", image, "list", "--format", "freeze").stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "partner-sandbox" in names
    assert not names & {"pytest", "schemathesis", "hypothesis", "playwright", "mypy", "ruff"}, names
    port = str(free_port())  # nothing listens there: the health check says so and fails
    unhealthy = podman("run", "--rm", "--network", "host", "--env", f"PARTNER_SANDBOX_PORT={port}",
                       "--entrypoint", "sandbox-healthcheck", image, check=False)
    assert unhealthy.returncode == 1 and f"unhealthy: http://127.0.0.1:{port}/healthz" in unhealthy.stderr, unhealthy


def test_the_build_context_leaves_out_the_checkout_s_own_files():
    """.containerignore (podman) and .dockerignore (docker) are one list."""
    ignored = (ROOT / ".containerignore").read_text()
    assert (ROOT / ".dockerignore").read_text() == ignored
    for entry in (".git", ".venv", "**/*.db", ".sandbox", "**/__pycache__", ".pytest_cache", "tests"):
        assert entry in ignored.splitlines(), entry


def test_compose_file_names_the_image_and_real_settings_only():
    """What can be checked of compose.yaml here (its PostgreSQL image cannot be pulled): it parses,
    its sandboxes build this Containerfile, every PARTNER_SANDBOX_* variable it sets is a `serve`
    setting, and the two replicas share one PostgreSQL URL on ports of their own."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    real = {ENV_PREFIX + name.upper() for name in Settings.__dataclass_fields__}
    sandboxes = {name: s for name, s in services.items() if "build" in s or "partner-sandbox" in str(s.get("image", ""))}
    assert len(sandboxes) >= 2, services
    urls, ports = set(), set()
    for name, service in sandboxes.items():
        env = service["environment"]
        assert set(env) <= real, (name, set(env) - real)
        assert str(env["PARTNER_SANDBOX_DB"]).startswith("postgresql://"), name
        urls.add(env["PARTNER_SANDBOX_DB"])
        ports.update(service["ports"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert "healthcheck" in service or "build" in service, name
    assert len(urls) == 1 and len(ports) == len(sandboxes), (urls, ports)
    assert "healthcheck" in services["postgres"]
    builds = [s["build"] for s in sandboxes.values() if "build" in s]
    assert builds and all((ROOT / b.get("context", ".") / b.get("dockerfile", "Containerfile")).exists() for b in builds)

