"""The pytest plugin: the README's partner example runs, as a partner would run it, in a fresh pytest."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_the_readme_example_passes_with_the_installed_plugin(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"<!-- partner-example -->\n```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "test_partner_example.py").write_text(example)
    # A partner's project: no conftest, nothing of ours but the installed package and its plugin.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_the_fixture_gives_tokens_and_controls(partner_sandbox):
    import httpx

    assert partner_sandbox.base_url.startswith("http://127.0.0.1:")
    r = httpx.post(f"{partner_sandbox.base_url}/partner/api/v1/workspaces/other-workspace/users/7/qr",
                   headers=partner_sandbox.headers("other-partner"))
    assert r.status_code == 200
    assert partner_sandbox.requests(1, partner_id="other-partner")[0]["status"] == 200
    assert partner_sandbox.set_clock({"set": "2030-01-01T00:00:00Z"}, partner_id="other-partner")["now"].startswith("2030")
    partner_sandbox.reset(partner_id="other-partner")
    assert partner_sandbox.user("other-workspace", 7, partner_id="other-partner")["links"] == []


def test_the_fixture_makes_a_fresh_workspace_per_test(partner_sandbox):
    first = partner_sandbox.new_workspace(seats=4, users=2)
    second = partner_sandbox.new_workspace()
    assert first["workspace_id"] != second["workspace_id"]
    assert first["seats"] == {"total": 4, "used": 3} and [u["role"] for u in first["users"]] == ["owner", "agent", "agent"]
    used = partner_sandbox.use(first["workspace_id"], messages=5)
    assert used["messages_quota"]["used"] == 5


def test_the_fixture_drives_the_embedded_pages_flow(partner_sandbox):
    import httpx

    assert partner_sandbox.set_embedding_origins("http://localhost:5173") == ["http://localhost:5173"]
    workspace = partner_sandbox.new_workspace(users=1)
    user = workspace["users"][1]["user_id"]
    link = partner_sandbox.issue_qr(workspace["workspace_id"], user).json()["qr_link"]
    page = httpx.get(link, params={"display_mode": "embedding"})
    assert page.headers["content-security-policy"].endswith("frame-ancestors http://localhost:5173")

    partner_sandbox.fail_next(workspace["workspace_id"], user, "banned")
    assert partner_sandbox.user(workspace["workspace_id"], user)["next_failure"] == "banned"
    code = httpx.post(link + "/flow/phone", json={"phone": "+31612345678"}).json()["pairing"]["code"]
    with pytest.raises(httpx.HTTPStatusError) as failed:
        partner_sandbox.enter_pairing_code(workspace["workspace_id"], user, code)
    assert failed.value.response.json()["error"] == "connection_failed"
    code = httpx.post(link + "/flow/phone", json={"phone": "+31612345678"}).json()["pairing"]["code"]
    state = partner_sandbox.enter_pairing_code(workspace["workspace_id"], user, code)
    assert state["whatsapp"]["phone_number_e164"] == "+31612345678"


def test_the_fixture_gives_a_ready_public_api_client(partner_sandbox):
    import httpx

    workspace = partner_sandbox.new_workspace(users=1)
    workspace_id, user = workspace["workspace_id"], workspace["users"][1]["user_id"]
    partner_sandbox.issue_qr(workspace_id, user)
    phone = partner_sandbox.scan(workspace_id, user)["whatsapp"]["phone_number_e164"]
    api = partner_sandbox.public_api(workspace_id)
    assert [a["phone"] for a in api.whatsapp_accounts()] == [phone]
    uid = api.send_message("+14840000000", "Hello")
    assert api.message(uid)["sender_phone"] == phone and api.status_history(uid)[0]["status"] == "Sent"
    assert api.workspace()["messaging_quota"]["used"] == 1
    assert [m["message_uid"] for m in partner_sandbox.sent_messages(workspace_id)] == [uid]
    assert len(api.teammates()) == 2
    partner_sandbox.rotate_public_api_token(workspace_id)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        api.workspace()
    assert refused.value.response.status_code == 401
    assert partner_sandbox.public_api(workspace_id).workspace()["workspace_id"] == workspace_id
