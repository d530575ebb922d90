"""A client generated from openapi.yaml with openapi-python-client reads like the one generated from
the published spec (the same function and model names), and works against a running sandbox."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, make_token

PACKAGE = "partner_api_client"


def generate(out: Path, package: str, *source: str) -> None:
    """openapi-python-client's package for a spec (`--path FILE` or `--url URL`) in out/package."""
    bin_dir = str(Path(sys.executable).parent)  # the generator runs ruff, installed beside it
    result = subprocess.run(
        [str(Path(bin_dir) / "openapi-python-client"), "generate", *source,
         "--meta", "none", "--output-path", str(out / package), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def surface(package_dir: Path) -> tuple[set, set]:
    """What a generated client offers: its (tag, function) modules and its model names."""
    functions = {(p.parent.name, p.stem) for p in (package_dir / "api").glob("*/*.py") if p.stem != "__init__"}
    models = {p.stem for p in (package_dir / "models").glob("*.py") if p.stem != "__init__"}
    return functions, models


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    """The generated client speaks HTTP over sockets of its own: here the sandbox is the session's
    server process."""
    return sandbox_process


def imported_client(out, package: str, spec):
    """A client generated from `spec` into `out`, imported as `package` (a generator: unimported after)."""
    generate(out, package, "--path", str(spec))
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    yield from imported_client(tmp_path_factory.mktemp("generated"), PACKAGE, ROOT / "openapi.yaml")


def test_the_served_spec_is_the_written_one(sandbox):
    """Both APIs' openapi.json and .yaml keep every $ref and component name; `servers` as mounted."""
    for written, base in (("openapi.yaml", "/partner/api/v1"), ("sandbox.yaml", "/sandbox/v1")):
        expected = json.loads(json.dumps(yaml.safe_load((ROOT / written).read_text()), default=str))
        expected["servers"] = [{"url": base}]
        served = sandbox.client.get(f"{base}/openapi.json")
        assert served.status_code == 200 and served.json() == expected, written
        assert yaml.safe_load(sandbox.client.get(f"{base}/openapi.yaml").text) == expected, written


def test_a_client_generated_from_the_served_url_is_the_one_generated_from_the_file(client_package, sandbox,
                                                                                    tmp_path):
    generate(tmp_path, PACKAGE, "--url", f"{sandbox.base_url}/partner/api/v1/openapi.json")
    from_url = surface(tmp_path / PACKAGE)
    assert from_url == surface(Path(client_package.__file__).parent)
    assert {"partner_api_workspace_extended_response", "partner_api_error"} <= from_url[1]


def test_names_are_those_of_the_published_spec(client_package):
    api = importlib.import_module(f"{PACKAGE}.api.qr.user_request_qr_link")
    assert callable(api.sync_detailed) and callable(api.asyncio_detailed)
    models = importlib.import_module(f"{PACKAGE}.models")
    assert {"PartnerAPIExpiresRequest", "PartnerAPIQRCodeResponse", "PartnerAPIError"} <= set(models.__all__)
    functions = {(p.parent.name, p.stem) for p in Path(api.__file__).parent.parent.glob("*/*.py") if p.stem != "__init__"}
    assert functions == {("qr", "user_request_qr_link"), ("whatsapp_accounts", "disconnect_wa"),
                         ("public_api", "get_public_api_token"), ("public_api", "rotate_public_api_token"),
                         ("workspaces", "workspace_create"), ("workspaces", "workspace_get"),
                         ("workspaces", "workspace_update"), ("workspaces", "workspace_create_users")}
    assert {"PartnerAPIDisconnectResponse", "PartnerAPIPublicTokenResponse"} <= set(models.__all__)


def call(client_package, sandbox, workspace_id, user_id, *, token=None, body=None):
    from importlib import import_module

    api = import_module(f"{PACKAGE}.api.qr.user_request_qr_link")
    client = client_package.AuthenticatedClient(base_url=sandbox.base_url + "/partner/api/v1",
                                                token=token or make_token())
    extra = {} if body is None else {"body": body}
    with client:
        return api.sync_detailed(workspace_id, user_id, client=client, x_tl_partner_id="sandbox-partner", **extra)


def test_200_is_a_parsed_qr_code_response(client_package, sandbox, fresh_user):
    models = importlib.import_module(f"{PACKAGE}.models")
    user = fresh_user()
    response = call(client_package, sandbox, "qa-workspace", user, body=models.PartnerAPIExpiresRequest(expires_in_hours=2))
    assert response.status_code == 200 and isinstance(response.parsed, models.PartnerAPIQRCodeResponse)
    parsed = response.parsed
    assert (parsed.workspace_id, parsed.user_id, parsed.previous_qr_revoked) == ("qa-workspace", user, False)
    assert parsed.qr_link.startswith(sandbox.base_url + "/qr/") and parsed.expires_at.tzinfo is not None
    again = call(client_package, sandbox, "qa-workspace", user).parsed  # no body: the default lifetime
    assert again.previous_qr_revoked is True and (again.expires_at - parsed.expires_at).total_seconds() > 3600


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("bad-body", 400, "invalid_request"),
        ("bad-token", 401, "invalid_signature"),
        ("unknown-workspace", 404, "workspace_not_found"),
        ("unknown-user", 404, "user_not_found"),
    ],
)
def test_errors_are_parsed_error_envelopes(client_package, sandbox, fresh_user, case, status, code):
    models = importlib.import_module(f"{PACKAGE}.models")
    kwargs = {
        "bad-body": {"workspace_id": "qa-workspace", "user_id": fresh_user(), "body": models.PartnerAPIExpiresRequest(expires_in_hours=0)},
        "bad-token": {"workspace_id": "qa-workspace", "user_id": fresh_user(), "token": make_token(secret="y" * 40)},
        "unknown-workspace": {"workspace_id": "nope", "user_id": fresh_user()},
        "unknown-user": {"workspace_id": "qa-workspace", "user_id": 999_999},
    }[case]
    response = call(client_package, sandbox, **kwargs)
    assert response.status_code == status
    error = response.parsed
    assert isinstance(error, models.PartnerAPIError), response.content
    assert (error.error, error.status) == (code, status) and error.description


def test_disconnect_and_the_token_operations_parse(client_package, sandbox, fresh_user):
    models = importlib.import_module(f"{PACKAGE}.models")
    disconnect = importlib.import_module(f"{PACKAGE}.api.whatsapp_accounts.disconnect_wa")
    get_token = importlib.import_module(f"{PACKAGE}.api.public_api.get_public_api_token")
    rotate = importlib.import_module(f"{PACKAGE}.api.public_api.rotate_public_api_token")
    with client_package.AuthenticatedClient(base_url=sandbox.base_url + "/partner/api/v1", token=make_token()) as client:
        done = disconnect.sync("qa-connected", 1006, client=client, x_tl_partner_id="sandbox-partner")
        assert isinstance(done, models.PartnerAPIDisconnectResponse) and done.disconnected is True
        assert done.whatsapp_account_id == 1006 and done.disconnected_at.tzinfo is not None
        token = get_token.sync("qa-connected", client=client, x_tl_partner_id="sandbox-partner")
        assert isinstance(token, models.PartnerAPIPublicTokenResponse) and token.token
        rotated = rotate.sync("qa-connected", client=client, x_tl_partner_id="sandbox-partner")
        assert isinstance(rotated, models.PartnerAPIPublicTokenResponse) and rotated.token != token.token
        assert rotated.rotated_at.tzinfo is not None
        missing = disconnect.sync("qa-connected", 999_999, client=client, x_tl_partner_id="sandbox-partner")
        assert isinstance(missing, models.PartnerAPIError) and missing.error == "user_not_found"


def test_the_generated_client_drives_the_guides_flow(client_package, sandbox):
    """Create a workspace, two users, a QR link each, scan one, read the details, disconnect, token."""
    from tests.helpers import control

    m = importlib.import_module(f"{PACKAGE}.models")
    api = {name: importlib.import_module(f"{PACKAGE}.api.{module}.{name}") for module, name in [
        ("workspaces", "workspace_create"), ("workspaces", "workspace_create_users"), ("workspaces", "workspace_get"),
        ("workspaces", "workspace_update"), ("qr", "user_request_qr_link"), ("whatsapp_accounts", "disconnect_wa"),
        ("public_api", "get_public_api_token"), ("public_api", "rotate_public_api_token")]}
    p = {"x_tl_partner_id": "sandbox-partner"}
    with client_package.AuthenticatedClient(base_url=sandbox.base_url + "/partner/api/v1", token=make_token()) as client:
        ws = api["workspace_create"].sync(client=client, body=m.PartnerAPIWorkspaceCreateRequest(
            display_name="Generated-Client-Shop", seats_purchased=3), **p)
        assert isinstance(ws, m.PartnerAPIWorkspaceResponse) and ws.workspace_id == "generated-client-shop"
        users = api["workspace_create_users"].sync(ws.workspace_id, client=client,
                                                   body=m.PartnerAPIUserRequest(count=2), **p)
        assert isinstance(users, m.PartnerAPIUsersResponse) and users.seats_available == 0
        first, second = (u.user_id for u in users.users)
        links = {u: api["user_request_qr_link"].sync(ws.workspace_id, u, client=client, **p).qr_link for u in (first, second)}
        control(sandbox, "POST", f"/workspaces/{ws.workspace_id}/users/{first}/scan")
        details = api["workspace_get"].sync(ws.workspace_id, client=client, **p)
        assert isinstance(details, m.PartnerAPIWorkspaceExtendedResponse)
        assert [(a.user_id, a.connected) for a in details.whatsapp_accounts] == [(first, True)]
        assert [(q.user_id, q.qr_link) for q in details.qr_links] == [(second, links[second])]
        assert (details.seats.total, details.seats.used) == (3, 3) and details.messages_quota.period_end is not None
        assert api["disconnect_wa"].sync(ws.workspace_id, first, client=client, **p).disconnected is True
        token = api["get_public_api_token"].sync(ws.workspace_id, client=client, **p).token
        assert api["rotate_public_api_token"].sync(ws.workspace_id, client=client, **p).token != token
        down = api["workspace_update"].sync(ws.workspace_id, client=client,
                                            body=m.PartnerAPIWorkspaceRequest(seats_purchased=2), **p)
        assert [s.user_id for s in down.suspended_members] == [second]
        full = api["workspace_create_users"].sync(ws.workspace_id, client=client, body=m.PartnerAPIUserRequest(count=1), **p)
        assert isinstance(full, m.PartnerAPIError) and full.error == "seats_full"
