"""A client generated from public_api.yaml with openapi-python-client has the published model names
and drives the sandbox's Public API: accounts, workspace, teammates, a message and its statuses, and
the errors parsed as `ErrorResponse`."""

from __future__ import annotations

import importlib

import pytest

from tests.conformance.test_generated_client import imported_client
from tests.helpers import ROOT, auth_headers

PACKAGE = "public_api_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    yield from imported_client(tmp_path_factory.mktemp("generated-public"), PACKAGE, ROOT / "public_api.yaml")


def api(name: str):
    tag, function = name.split(".")
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{function}")


def test_the_generated_client_drives_the_public_api(client_package, sandbox_process):
    server = sandbox_process
    models = importlib.import_module(f"{PACKAGE}.models")
    assert {"MessageToPhone", "MessageSendResponse", "MessageInfoResponse", "WhatsappAccountsResponse",
            "WorkspaceInfoResponse", "WorkspaceTeammatesResponse", "MessageStatusHistoryResponse",
            "ErrorResponse"} <= set(models.__all__)
    token = server.client.get("/partner/api/v1/workspaces/qa-connected/api-token", headers=auth_headers()).json()["token"]
    client = client_package.AuthenticatedClient(base_url=server.base_url + "/integrations/api", token=token)
    with client:
        accounts = api("public_whatsapp_accounts.get_whatsapp_accounts").sync(client=client)
        assert isinstance(accounts, models.WhatsappAccountsResponse)
        phones = [a.phone for a in accounts.data.whatsapp_accounts]
        assert "+15550201001" in phones and all(a.status in ("active", "disconnected") for a in accounts.data.whatsapp_accounts)

        info = api("public_workspace.get_workspace").sync(client=client)
        assert info.data.workspace_id == "qa-connected" and info.data.api_calls_quota.used >= 2
        teammates = api("public_workspace.get_teammates").sync(client=client)
        assert {t.user_id for t in teammates.data.teammates} >= {1001, 1020}

        sent = api("public_messages.send_message_to_phone").sync(
            client=client, body=models.MessageToPhone(phone="+14840000000", text="From a generated client",
                                                      whatsapp_account_phone="+15550201001"))
        assert isinstance(sent, models.MessageSendResponse)
        uid = sent.data.message_uid
        message = api("public_messages.get_message").sync(uid, client=client)
        assert (message.data.uid, message.data.sender_phone, message.data.text) == (
            uid, "+15550201001", "From a generated client")
        history = api("public_messages.get_message_status_history").sync(uid, client=client)
        assert history.data[0].status == "Sent"

        missing = api("public_messages.get_message").sync_detailed("no-such-message", client=client)
        assert missing.status_code == 404 and isinstance(missing.parsed, models.ErrorResponse)
        assert missing.parsed.error_code == models.ErrorResponseErrorCode.NOT_FOUND
        invalid = api("public_messages.send_message_to_phone").sync_detailed(
            client=client, body=models.MessageToPhone(phone="+14840000000", text="x" * 2001))
        assert invalid.status_code == 400 and invalid.parsed.errors[0].fields == ["text"]

    stranger = client_package.AuthenticatedClient(base_url=server.base_url + "/integrations/api", token="not-a-token")
    with stranger:
        refused = api("public_workspace.get_workspace").sync_detailed(client=stranger)
    assert refused.status_code == 401 and refused.parsed.message == "Invalid or expired token"


def test_the_served_spec_is_the_written_one(sandbox):
    """openapi.json and .yaml under /integrations/api keep every $ref and schema name, for generators."""
    import json

    import yaml

    expected = json.loads(json.dumps(yaml.safe_load((ROOT / "public_api.yaml").read_text()), default=str))
    expected["servers"] = [{"url": "/integrations/api"}]
    assert sandbox.client.get("/integrations/api/openapi.json").json() == expected
    assert yaml.safe_load(sandbox.client.get("/integrations/api/openapi.yaml").text) == expected
