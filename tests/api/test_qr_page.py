"""The page behind qr_link over HTTP, and the whole QR story driven from a test."""

from __future__ import annotations

import re

import pytest

from tests.helpers import control

PAGE_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


@pytest.fixture
def server(start_app):
    """An in-process sandbox of the test's own."""
    return start_app()


def issue_link(server, user, **kwargs) -> str:
    r = server.issue("qa-workspace", user, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()["qr_link"]


def get(server, url, **kwargs):
    return server.client.get(url.replace(server.base_url, ""), **kwargs)


def assert_page_headers(r):
    for name, value in PAGE_HEADERS.items():
        assert r.headers[name] == value
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert r.headers["content-type"].startswith("text/html")


def test_the_page_of_an_active_link(server):
    link = issue_link(server, 1, json={"expires_in_hours": 2})
    r = get(server, link)
    assert r.status_code == 200
    assert_page_headers(r)
    html = r.text
    assert "<svg" in html and 'id=workspace>qa-workspace<' in html and "id=user>1<" in html
    assert "class='state active'>active<" in html and "Simulate scan" in html
    seconds = int(re.search(r"data-seconds-left=(\d+)", html).group(1))
    assert 7190 <= seconds <= 7200
    # no external resources: nothing loaded from another origin
    assert not re.search(r"""(src|href)=["']?https?:""", html) and "<link" not in html


def test_unknown_token_is_404(server):
    r = server.client.get("/qr/no-such-token-000000000000000")
    assert r.status_code == 404 and "Unknown QR link" in r.text
    assert_page_headers(r)
    assert server.client.post("/qr/no-such-token-000000000000000/scan").status_code == 404


@pytest.mark.parametrize("how, reason", [("revoked", "revoked"), ("expired", "expired"), ("used", "already used")])
def test_dead_links_are_410_saying_why(server, how, reason):
    link = issue_link(server, 2, json={"expires_in_hours": 1})
    if how == "revoked":
        issue_link(server, 2)
    elif how == "expired":
        control(server, "POST", "/clock", json={"advance_seconds": 3601})
    else:
        assert server.client.post(link.replace(server.base_url, "") + "/scan").status_code == 200
    r = get(server, link)
    assert r.status_code == 410
    assert_page_headers(r)
    assert reason in r.text and f"class='state gone'>{how}<" in r.text
    assert server.client.post(link.replace(server.base_url, "") + "/scan").status_code == 410


def test_page_scan_connects_whatsapp(server):
    link = issue_link(server, 3)
    confirm = get(server, link + "/scan")
    assert confirm.status_code == 200 and "Simulate scan" in confirm.text
    assert_page_headers(confirm)
    r = server.client.post(link.replace(server.base_url, "") + "/scan")
    assert r.status_code == 200 and "WhatsApp connected" in r.text
    state = control(server, "GET", "/workspaces/qa-workspace/users/3").json()
    assert state["whatsapp"]["connected"] is True
    assert state["whatsapp"]["phone_number_e164"] in r.text


def test_the_whole_story(server):
    """Issue, scan, re-issue (disconnected), pass expiry on the test clock, re-issue, reset."""
    first = server.issue("my-first-workspace", 42).json()
    assert (first["whatsapp_disconnected"], first["previous_qr_revoked"]) == (False, False)

    r = server.client.post(first["qr_link"].replace(server.base_url, "") + "/scan")
    assert r.status_code == 200
    connected = control(server, "GET", "/workspaces/my-first-workspace/users/42").json()
    assert connected["whatsapp"]["connected"] is True and connected["links"][0]["state"] == "used"

    second = server.issue("my-first-workspace", 42, json={"expires_in_hours": 1}).json()
    assert (second["whatsapp_disconnected"], second["previous_qr_revoked"]) == (True, False)

    control(server, "POST", "/clock", json={"advance_seconds": 3600})
    assert get(server, second["qr_link"]).status_code == 410
    third = server.issue("my-first-workspace", 42).json()
    assert (third["whatsapp_disconnected"], third["previous_qr_revoked"]) == (False, False)
    history = control(server, "GET", "/workspaces/my-first-workspace/users/42").json()["links"]
    assert [link["state"] for link in history] == ["active", "expired", "used"]

    assert control(server, "POST", "/reset").status_code == 204
    after = control(server, "GET", "/workspaces/my-first-workspace/users/42").json()
    assert after["links"] == [] and after["whatsapp"]["connected"] is False
    assert get(server, third["qr_link"]).status_code == 404  # its link is gone with the reset
    assert control(server, "GET", "/workspaces/my-first-workspace/users/43").json()["whatsapp"]["connected"] is True
    assert abs(control(server, "GET", "/clock").json()["offset_seconds"]) < 1
