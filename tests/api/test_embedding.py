"""The embedded QR page over real HTTP: embedding origins, its headers (framing), the pairing flow's
JSON endpoints the page's script uses, the phone's scan of a rotating image, and the control
operations for pairing codes and forced failures. The browser half is tests/browser/test_embedded_qr.py."""

from __future__ import annotations

import base64
import time

import pytest

from partner_sandbox.domain import pairing
from tests.helpers import assert_error, control
from tests.receivers import Receiver

ORIGINS = ["http://127.0.0.1:3000", "https://app.partner.example"]


@pytest.fixture(scope="module")
def server(start_module_app):
    """An in-process sandbox of the module's own: these tests move the partner's clock and its origins."""
    server = start_module_app("--webhook-backoff", "0.1")
    assert control(server, "PUT", "/embedding-origins", json={"origins": ORIGINS}).status_code == 200
    return server


@pytest.fixture(autouse=True)
def real_time_after(request):
    """Each test leaves the partner's clock on real time, whatever happened in it."""
    yield
    if "server" in request.fixturenames:
        control(request.getfixturevalue("server"), "POST", "/clock", json={"real": True})


def flow(server, link: str, step: str = "", body=None):
    url = link + "/flow" + step
    return server.client.get(url) if body is None else server.client.post(url, json=body)


def test_embedding_origins_are_set_read_checked_and_kept_across_a_reset(server):
    assert control(server, "GET", "/embedding-origins").json() == {"origins": ORIGINS}
    assert control(server, "GET", "/embedding-origins", partner="other-partner").json() == {"origins": []}
    assert "origins" in assert_error(control(server, "PUT", "/embedding-origins",
                                             json={"origins": ["https://app.example/embed"]}), 400,
                                     "invalid_request")["description"]
    assert_error(control(server, "PUT", "/embedding-origins", json={"origins": "https://app.example"}), 400,
                 "invalid_request")
    assert control(server, "GET", "/embedding-origins").json() == {"origins": ORIGINS}  # refusals changed nothing
    kept = control(server, "PUT", "/embedding-origins", json={"origins": ["https://App.example:443", "https://app.example"]})
    assert kept.json() == {"origins": ["https://app.example"]}
    assert control(server, "PUT", "/embedding-origins", json={"origins": ORIGINS}).json() == {"origins": ORIGINS}
    assert control(server, "POST", "/reset").status_code == 204
    assert control(server, "GET", "/embedding-origins").json() == {"origins": ORIGINS}


def test_the_embedded_page_may_be_framed_by_the_partners_origins_only(server):
    link = server.qr_link("qa-workspace", 201)
    embedded = server.client.get(link, params={"display_mode": "embedding"})
    assert embedded.status_code == 200 and "id=embed" in embedded.text
    csp = embedded.headers["content-security-policy"]
    assert csp.endswith("frame-ancestors http://127.0.0.1:3000 https://app.partner.example")
    assert "connect-src 'self'" in csp and "unsafe-inline" not in csp and "http" not in csp.split("frame-ancestors")[0]
    assert "x-frame-options" not in embedded.headers
    assert (embedded.headers["cache-control"], embedded.headers["referrer-policy"]) == ("no-store", "no-referrer")
    assert embedded.headers["x-content-type-options"] == "nosniff"

    standalone = server.client.get(link)
    assert standalone.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert standalone.headers["x-frame-options"] == "DENY" and "id=embed" not in standalone.text
    other_mode = server.client.get(link, params={"display_mode": "popup"})
    assert other_mode.headers["x-frame-options"] == "DENY" and "id=embed" not in other_mode.text

    server.qr_link("qa-workspace", 201)  # the first link is revoked: its embedded page says so, inside the frame
    gone = server.client.get(link, params={"display_mode": "embedding"})
    assert gone.status_code == 410 and "revoked" in gone.text
    assert gone.headers["content-security-policy"].endswith("frame-ancestors http://127.0.0.1:3000 https://app.partner.example")

    other = control(server, "GET", "/embedding-origins", partner="other-partner").json()["origins"]
    other_link = server.issue("other-workspace", 7008, partner="other-partner").json()["qr_link"]
    page = server.client.get(other_link, params={"display_mode": "embedding"})
    assert other == [] and page.headers["content-security-policy"].endswith("frame-ancestors 'none'")


def test_the_flow_endpoints_answer_the_envelope_for_bad_input(server):
    link = server.qr_link("qa-workspace", 202)
    assert flow(server, link).json() == {"link": "active", "error": None, "qr": None, "pairing": None}
    assert_error(server.client.get(link.rsplit("/", 1)[0] + "/no-such-token/flow"), 404, "not_found")
    assert_error(server.client.post(link + "/flow/phone", content=b"{not json",
                                    headers={"Content-Type": "application/json"}), 400, "invalid_request")
    # a body not declared JSON (a form, text/plain: what another site's page sends unasked) is 415
    assert_error(server.client.post(link + "/flow/phone", content=b'{"phone": "+31612345678"}'), 415,
                 "unsupported_media_type")
    assert_error(server.client.post(link + "/flow/qr", data={"a": "b"}), 415, "unsupported_media_type")
    assert "phone" in assert_error(flow(server, link, "/phone", {"phone": 31612345678}), 400,
                                   "invalid_request")["description"]
    assert_error(server.client.post(link + "/flow/phone", json=["+31612345678"]), 400, "invalid_request")
    assert "qr" in assert_error(flow(server, link, "/scan", {}), 400, "invalid_request")["description"]
    assert flow(server, link).json()["error"] is None  # nothing of it reached the flow
    server.qr_link("qa-workspace", 202)
    body = assert_error(flow(server, link, "/qr", {}), 409, "no_active_link")
    assert "revoked" in body["description"]


def test_a_phone_scanning_a_rotated_image_is_a_mismatch_and_the_current_one_connects(server):
    link = server.qr_link("qa-workspace", 203)
    started = flow(server, link, "/qr", {}).json()["qr"]
    assert started["rotation"] == 0 and 0 < started["rotates_in_ms"] <= 45_000
    svg = base64.b64decode(started["image"].removeprefix("data:image/svg+xml;base64,"))
    assert started["image"].startswith("data:image/svg+xml;base64,") and svg.startswith(b"<svg")
    stale_url = f"{link}/scan?qr={started['ref']}"
    assert server.client.get(stale_url).status_code == 200  # the confirmation page, before the rotation

    assert control(server, "POST", "/clock", json={"advance_seconds": 45}).status_code == 200
    rotated = flow(server, link).json()["qr"]
    assert rotated["rotation"] == 1 and rotated["ref"] != started["ref"] and rotated["image"] != started["image"]
    scanned = server.client.post(stale_url)
    assert scanned.status_code == 409 and pairing.QR_MISMATCH in scanned.text
    after = flow(server, link).json()
    assert after["error"] == {"id": 1, "message": pairing.QR_MISMATCH} and after["qr"] is None

    current = flow(server, link, "/qr", {}).json()["qr"]
    connected = server.client.post(f"{link}/scan?qr={current['ref']}")
    assert connected.status_code == 200 and "WhatsApp connected" in connected.text
    assert flow(server, link).json()["link"] == "used"


def test_the_qr_flow_times_out_after_five_images_without_an_error(server):
    link = server.qr_link("qa-workspace", 204)
    flow(server, link, "/qr", {})
    control(server, "POST", "/clock", json={"advance_seconds": 4 * 45})
    assert flow(server, link).json()["qr"]["rotation"] == 4
    control(server, "POST", "/clock", json={"advance_seconds": 45})
    state = flow(server, link).json()
    assert state["qr"] == {"timed_out": True} and state["error"] is None


def test_a_pairing_code_entered_on_the_phone_connects_that_number_and_tells_the_webhook(server):
    receiver = Receiver()
    try:
        assert control(server, "PUT", "/webhook", json={"url": receiver.url}).status_code == 200
        link = server.qr_link("qa-workspace", 205)
        invalid = flow(server, link, "/phone", {"phone": "0612345678"}).json()
        assert invalid["error"]["message"] == pairing.invalid_phone("0612345678") and invalid["pairing"] is None
        asked = flow(server, link, "/phone", {"phone": "+31612345678"}).json()["pairing"]
        assert asked["phone"] == "+31612345678" and len(asked["code"]) == 8 and asked["code"].isdigit()
        assert 179_000 <= asked["expires_in_ms"] <= 180_000

        wrong = str((int(asked["code"]) + 1) % 10**8).zfill(8)
        path = "/workspaces/qa-workspace/users/205/pairing-code"
        assert "not the pairing code" in assert_error(control(server, "POST", path, json={"code": wrong}), 409,
                                                      "pairing_code_rejected")["description"]
        assert_error(control(server, "POST", path, json={"code": "1234"}), 400, "invalid_request")
        state = control(server, "POST", path, json={"code": asked["code"]})
        assert state.status_code == 200, state.text
        account = state.json()["whatsapp"]
        assert account["connected"] is True and account["phone_number_e164"] == "+31612345678"
        assert state.json()["active_link"] is None and state.json()["links"][0]["state"] == "used"
        assert flow(server, link).json()["link"] == "used"
        event = receiver.wait_for(1)[0]
        assert (event["event_type"], event["user_id"], event["phone_number_e164"]) == (
            "whatsapp_account:connected", 205, "+31612345678")
        assert event["reason"] == "(pairing code entered)"
        assert_error(control(server, "POST", path, json={"code": asked["code"]}), 409, "no_active_link")
    finally:
        control(server, "DELETE", "/webhook")
        receiver.stop()


def test_a_forced_failure_is_shown_in_the_user_state_fails_the_control_scan_and_is_used_up(server):
    link = server.qr_link("qa-workspace", 206)
    base = "/workspaces/qa-workspace/users/206"
    assert control(server, "GET", base).json()["next_failure"] is None
    r = control(server, "PUT", base + "/next-failure", json={"cause": "payment_required"})
    assert r.status_code == 200 and r.json() == {"cause": "payment_required"}
    assert control(server, "GET", base).json()["next_failure"] == "payment_required"
    assert_error(control(server, "PUT", base + "/next-failure", json={"cause": "flood"}), 400, "invalid_request")
    assert_error(control(server, "PUT", "/workspaces/other-workspace/users/7008/next-failure",
                         json={"cause": "banned"}), 404, "workspace_not_found")

    body = assert_error(control(server, "POST", base + "/scan"), 409, "connection_failed")
    assert pairing.FAILURES["payment_required"].message in body["description"]
    assert flow(server, link).json()["error"]["message"] == pairing.FAILURES["payment_required"].message
    state = control(server, "GET", base).json()
    assert state["next_failure"] is None and state["whatsapp"]["connected"] is False
    assert state["active_link"] is not None  # the link stays: start again

    control(server, "PUT", base + "/next-failure", json={"cause": "banned"})
    assert control(server, "DELETE", base + "/next-failure").status_code == 204
    assert control(server, "POST", base + "/scan").status_code == 200


def test_the_rotation_flag_shortens_the_images_life(start_app, start_sandbox):
    server = start_app("--qr-rotation-seconds", "1")
    link = server.qr_link("qa-workspace", 207)
    first = flow(server, link, "/qr", {}).json()["qr"]
    assert first["rotates_in_ms"] <= 1000
    time.sleep(1.2)
    assert flow(server, link).json()["qr"]["rotation"] >= 1
    bad = start_sandbox("--qr-rotation-seconds", "0", wait=False)
    assert bad.proc.wait(timeout=30) == 2 and "1 to 3600 seconds" in bad.output()
    from_env = start_sandbox(wait=False, env={"PARTNER_SANDBOX_QR_ROTATION_SECONDS": "soon"})
    assert from_env.proc.wait(timeout=30) == 2 and "'soon' is not a number of seconds" in from_env.output()
