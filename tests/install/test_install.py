"""Install it the way users do: the sdist and the wheel built with `python -m build`, each installed
into a fresh virtualenv with no extras, must serve, mint tokens and give the pytest plugin; the QA
commands must name the extra they need; with the `qa` extra, `lint` passes on the installed spec."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from partner_sandbox.qa.server import ServerProcess, serve_command
from tests.helpers import ROOT, free_port
from tests.install import builds
from tests.install.builds import Venv, run

VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "partner_sandbox" / "__init__.py").read_text())[1]
PARTNER_TEST = '''
import httpx

import handlers  # the project's own package of that name, not the sandbox's


def test_the_seed_call(partner_sandbox):
    assert handlers.PARTNER_OWN == "ours"
    url = f"{partner_sandbox.base_url}/partner/api/v1/workspaces/my-first-workspace/users/42/qr"
    r = httpx.post(url, headers=partner_sandbox.headers())
    assert r.status_code == 200 and r.json()["user_id"] == 42
'''
# A partner project with a `handlers` package of its own, a common name: it must not stand in for the
# sandbox's handlers, whether the sandbox runs from that directory or inside pytest there.
PARTNER_HANDLERS = {"__init__.py": 'PARTNER_OWN = "ours"\n', "qr.py": "def unrelated():\n    return 1\n",
                    "workspaces.py": "raise ImportError('the partner project module, imported by mistake')\n"}


def partner_project(path: Path) -> Path:
    (path / "handlers").mkdir(parents=True)
    for name, text in PARTNER_HANDLERS.items():
        (path / "handlers" / name).write_text(text)
    (path / "test_partner.py").write_text(PARTNER_TEST)
    return path


@pytest.fixture(scope="module")
def dist(install_builds) -> Path:
    """`python -m build`: the sdist, then the wheel built from that sdist (as a user's pip would)."""
    return install_builds.dist()


def answers_every_operation(base: str, headers: dict) -> None:
    """The eight Partner API operations, each answered with its success status."""
    api = f"{base}/partner/api/v1"
    created = httpx.post(f"{api}/workspaces", headers=headers, json={"display_name": "foreign-project", "seats_purchased": 3})
    assert created.status_code == 201, created.text
    workspace = f"{api}/workspaces/{created.json()['workspace_id']}"
    users = httpx.post(f"{workspace}/users", headers=headers, json={"count": 1})
    assert users.status_code == 201, users.text
    user = users.json()["users"][0]["user_id"]
    calls = [("GET", workspace, None, 200), ("PATCH", workspace, {"seats_purchased": 4}, 200),
             ("POST", f"{workspace}/users/{user}/qr", None, 200),
             ("POST", f"{workspace}/users/{user}/whatsapp/disconnect", None, 200),
             ("GET", f"{workspace}/api-token", None, 200), ("POST", f"{workspace}/api-token", None, 201)]
    for method, url, body, status in calls:
        r = httpx.request(method, url, headers=headers, json=body)
        assert r.status_code == status and r.headers["x-tl-api-version"] == "v1", (method, url, r.text)


def serves_the_seed_call(env: Venv, tmp: Path, cwd: Path) -> None:
    port = free_port()
    # The installed command, in the venv's environment, from the partner's project directory.
    server = ServerProcess(serve_command(port, db=":memory:", executable=env.bin / "partner-sandbox"), port=port,
                           env=env.env, cwd=cwd, log=tmp / "serve.log", name="installed sandbox")
    try:
        server.start(timeout=60)
        token = env.sandbox("token").stdout.strip()
        headers = {"Authorization": f"Bearer {token}", "X-TL-Partner-Id": "sandbox-partner"}
        r = httpx.post(f"http://127.0.0.1:{port}/partner/api/v1/workspaces/my-first-workspace/users/42/qr",
                       headers=headers)
        assert r.status_code == 200 and r.headers["x-tl-api-version"] == "v1", r.text
        assert r.json()["qr_link"].startswith(f"http://127.0.0.1:{port}/qr/")
        # the embedded page carries its protocol script, packaged with the wheel
        page = httpx.get(r.json()["qr_link"], params={"display_mode": "embedding"})
        assert page.status_code == 200 and "TIMELINES_QR_CONNECTED" in page.text
        assert page.headers["content-security-policy"].endswith("frame-ancestors http://localhost:3000 http://127.0.0.1:3000")
        answers_every_operation(f"http://127.0.0.1:{port}", headers)
        watching = env.sandbox("webhooks", "--base-url", f"http://127.0.0.1:{port}", "--seconds", "0.5")
        assert watching.stdout.startswith("watching webhook deliveries of sandbox-partner") and not watching.stderr
        assert "Failed to add operation" not in server.output()
    finally:
        server.stop(timeout=30)


def test_the_sdist_holds_the_project_and_nothing_else_of_the_checkout(dist):
    import tarfile

    with tarfile.open(next(dist.glob("*.tar.gz"))) as sdist:
        top = {name.split("/")[1] for name in sdist.getnames() if name.count("/") >= 1}
    assert top == {"partner_sandbox", "handlers", "fixtures", "bench", "tests", ".ci", "openapi.yaml", "sandbox.yaml",
                   "webhooks.yaml", "pages.yaml", "public_api.yaml", "Makefile", "README.md", "pyproject.toml", "PKG-INFO",
                   ".gitignore"}


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_a_plain_install_serves_and_the_qa_extra_adds_the_qa_commands(dist, install_builds, tmp_path, kind):
    artifact = builds.artifact(dist, kind)
    if kind == "wheel":
        import zipfile

        tops = {name.split("/")[0] for name in zipfile.ZipFile(artifact).namelist()}
        assert tops == {"partner_sandbox", f"partner_sandbox-{VERSION}.dist-info"}, tops
    env = install_builds.plain(kind)  # a fresh venv, the artifact installed with no extras
    assert run(env.bin / "python", "-c", "import schemathesis", check=False, env=env.env).returncode != 0

    assert env.sandbox("--version").stdout.strip() == f"partner-sandbox {VERSION}"
    assert run(env.bin / "python", "-m", "partner_sandbox", "--version", env=env.env).stdout.strip() == \
        f"partner-sandbox {VERSION}"
    project = partner_project(tmp_path / "project")
    serves_the_seed_call(env, tmp_path, cwd=project)
    for command in (["lint"], ["contract-test", "--base-url", "http://127.0.0.1:1", "--partner-id", "p", "--secret", "s"]):
        result = env.sandbox(*command, check=False)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'partner-sandbox[qa]'" in lines[0], result.stderr

    # A partner's project (its own `handlers` package) with only pytest beside the sandbox: the plugin
    # loads, the fixture serves.
    env.pip_install("pytest")
    result = run(env.bin / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_partner.py",
                 cwd=tmp_path / "project", env=env.env, check=False)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]

    env.pip_install(f"{artifact}[qa]")
    lint = env.sandbox("lint", cwd=tmp_path)
    assert lint.stdout.startswith("ok: ") and "partner_sandbox/data/openapi.yaml" in lint.stdout, lint.stdout
