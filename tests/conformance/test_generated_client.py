"""A client generated from openapi.yaml with openapi-python-client reads like the one generated from
the published spec (the same function and model names), and works against a running sandbox."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_process import ROOT, make_token

PACKAGE = "partner_api_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    bin_dir = str(Path(sys.executable).parent)  # the generator runs ruff, installed beside it
    result = subprocess.run(
        [str(Path(bin_dir) / "openapi-python-client"), "generate", "--path", str(ROOT / "openapi.yaml"),
         "--meta", "none", "--output-path", str(out / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_names_are_those_of_the_published_spec(client_package):
    api = importlib.import_module(f"{PACKAGE}.api.qr.user_request_qr_link")
    assert callable(api.sync_detailed) and callable(api.asyncio_detailed)
    models = importlib.import_module(f"{PACKAGE}.models")
    assert {"PartnerAPIExpiresRequest", "PartnerAPIQRCodeResponse", "PartnerAPIError"} <= set(models.__all__)
    functions = {(p.parent.name, p.stem) for p in Path(api.__file__).parent.parent.glob("*/*.py") if p.stem != "__init__"}
    assert functions == {("qr", "user_request_qr_link"), ("whatsapp_accounts", "disconnect_wa"),
                         ("public_api", "get_public_api_token"), ("public_api", "rotate_public_api_token")}
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
        "bad-body": dict(workspace_id="qa-workspace", user_id=fresh_user(), body=models.PartnerAPIExpiresRequest(expires_in_hours=0)),
        "bad-token": dict(workspace_id="qa-workspace", user_id=fresh_user(), token=make_token(secret="y" * 40)),
        "unknown-workspace": dict(workspace_id="nope", user_id=fresh_user()),
        "unknown-user": dict(workspace_id="qa-workspace", user_id=999_999),
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
