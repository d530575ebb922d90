"""The embedded QR page and its postMessage protocol in a real headless Chromium.

Parent pages are served from another loopback origin (`http://127.0.0.1:<port>`, registered as the
partner's embedding origin); `http://localhost:<port>` is the same server on an origin that is not
registered. Every message the parent window receives is recorded; QR images are decoded with
zxing-cpp from what the browser drew; console errors, CSP reports and requests anywhere but the
sandbox and the parent's server fail a test unless it expects them."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from partner_sandbox.domain import pairing
from tests.helpers import ROOT, control, free_port

README_PARENT = re.search(r"<!-- embed-parent -->\n```html\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
PLACEHOLDER = "http://127.0.0.1:8080/qr/PASTE_THE_TOKEN"
# A parent that only embeds the link: the test speaks for it (window.send) and waits for the load.
BARE_PARENT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare parent</title></head>
<body><iframe id="timelines" title="Connect WhatsApp" width="460" height="700"></iframe>{extra}<script>
const QR_LINK = "{link}"; const SANDBOX = new URL(QR_LINK).origin; const frame = document.getElementById("timelines");
window.loaded = false; frame.addEventListener("load", () => {{ window.loaded = true; }});
frame.src = QR_LINK + "?display_mode=embedding";
</script></body></html>"""
# A page of an unregistered origin, framed beside the link, that tries to start the QR flow.
ROGUE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rogue</title></head><body><script>
const target = parent.frames[0];
setInterval(() => target.postMessage({type: "TIMELINES_START_QR"}, "*"), 100);
</script></body></html>"""
# Records, in the top window only, every message it receives.
RECORDER = """if (window === window.top) { window.messages = [];
  window.addEventListener("message", (e) => window.messages.push({origin: e.origin, data: e.data})); }"""
QR_DATA, PAIRING, CONNECTED, ERROR = ("TIMELINES_QR_CODE_DATA", "TIMELINES_PAIRING_CODE", "TIMELINES_QR_CONNECTED",
                                      "TIMELINES_ERROR")


class ParentSite:
    """The partner's application: an HTTP server of HTML pages set by the test."""

    def __init__(self):
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.unregistered_origin = f"http://localhost:{self.port}"
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path == "/favicon.ico":  # the browser asks for the top page's icon: none
                    self.send_response(204)
                    self.end_headers()
                    return
                body = site.pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return path

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site():
    s = ParentSite()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(start_module_sandbox, site):
    server = start_module_sandbox()
    r = control(server, "PUT", "/embedding-origins", json={"origins": [site.origin, "https://app.partner.example"]})
    assert r.status_code == 200, r.text
    return server


@pytest.fixture(autouse=True)
def real_time_after(server):
    yield
    control(server, "POST", "/clock", json={"real": True})


class Parent:
    """A parent page open in the browser, with what happened in it."""

    def __init__(self, browser, server, site, url: str):
        self.server, self.site = server, site
        self.context = browser.new_context(viewport={"width": 760, "height": 760})
        self.context.add_init_script(RECORDER)
        self.problems: list[str] = []
        self.console: list[str] = []
        allowed = (server.base_url, site.origin, site.unregistered_origin)
        self.context.on("request", lambda r: None if r.url.startswith(allowed) or r.url.startswith("data:")
                        else self.problems.append(f"external request {r.url}"))
        self.context.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400
                        else None)
        self.page = self.context.new_page()

        def on_console(message):
            self.console.append(message.text)
            if message.type in ("error", "warning"):
                self.problems.append(f"console {message.type}: {message.text}")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.goto(url)
        self.frame = self.page.frame_locator("#timelines")

    def messages(self, kind: str | None = None) -> list[dict]:
        found = self.page.evaluate("window.messages")
        return [m for m in found if kind is None or m["data"].get("type") == kind]

    def wait_message(self, kind: str, count: int = 1, timeout: float = 10) -> dict:
        """The count-th message of this type (waiting for it)."""
        self.page.wait_for_function("([kind, count]) => window.messages.filter((m) => m.data && m.data.type === kind)"
                                    ".length >= count", arg=[kind, count], timeout=timeout * 1000)
        message = self.messages(kind)[count - 1]
        assert message["origin"] == self.server.base_url
        return message["data"]

    def send(self, message: dict) -> None:
        """Post as the parent does, once the iframe has loaded (the README's parent: long since)."""
        self.page.wait_for_function("window.loaded !== false")
        self.page.evaluate("(m) => { const f = document.getElementById('timelines');"
                           " f.contentWindow.postMessage(m, new URL(f.src).origin); }", message)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_parent(browser, server, site):
    opened: list[Parent] = []

    def open_(path: str, origin: str | None = None) -> Parent:
        parent = Parent(browser, server, site, (origin or site.origin) + path)
        opened.append(parent)
        return parent

    yield open_
    for parent in opened:
        parent.close()


def decode(png: bytes) -> list[str]:
    return [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def flow(server, link: str) -> dict:
    return server.client.get(link + "/flow").json()


def user_state(server, user: int) -> dict:
    return control(server, "GET", f"/workspaces/qa-workspace/users/{user}").json()


def test_the_readme_parent_gets_rotating_qr_images_a_stale_one_mismatches_and_the_scan_connects(
        open_parent, server, site):
    link = server.qr_link("qa-workspace", 296)
    parent = open_parent(site.add("/readme.html", README_PARENT.replace(PLACEHOLDER, link)))

    first = parent.wait_message(QR_DATA, 1)
    assert set(first) == {"type", "data"} and first["data"].startswith("data:image/svg+xml;base64,")
    parent.page.wait_for_function("(d) => document.getElementById('qr').src === d && document.getElementById('qr')"
                                  ".complete", arg=first["data"])
    [first_url] = decode(parent.page.locator("#qr").screenshot())
    assert first_url.startswith(link + "/scan?qr=")

    assert control(server, "POST", "/clock", json={"advance_seconds": 45}).status_code == 200  # a rotation
    second = parent.wait_message(QR_DATA, 2)
    assert second["data"] != first["data"]
    parent.page.wait_for_function("(d) => document.getElementById('qr').src === d && document.getElementById('qr')"
                                  ".complete", arg=second["data"])
    [second_url] = decode(parent.page.locator("#qr").screenshot())
    assert second_url.startswith(link + "/scan?qr=") and second_url != first_url

    stale = httpx.post(first_url)  # a phone scans the image that rotated away
    assert stale.status_code == 409
    assert parent.wait_message(ERROR, 1) == {"type": ERROR, "error": "", "message": pairing.QR_MISMATCH}
    assert parent.page.inner_text("#status") == pairing.QR_MISMATCH
    assert user_state(server, 296)["whatsapp"]["connected"] is False

    parent.send({"type": "TIMELINES_START_QR"})  # start again
    third = parent.wait_message(QR_DATA, 3)
    parent.frame.locator("#qr-image").wait_for(state="visible")
    assert parent.frame.locator("#qr-image").get_attribute("src") == third["data"]  # the default UI draws it too
    shot = parent.page.screenshot()
    if os.environ.get("SCREENSHOT_DIR"):
        (Path(os.environ["SCREENSHOT_DIR"]) / "embedded-qr.png").write_bytes(shot)
    assert len(decode(shot)) == 2  # the parent's image and the iframe's: both real QR codes

    parent.frame.locator("#simulate-scan").click()
    assert parent.wait_message(CONNECTED, 1) == {"type": CONNECTED}
    assert parent.page.inner_text("#status") == "WhatsApp connected"
    state = user_state(server, 296)
    assert state["whatsapp"]["connected"] is True and state["links"][0]["state"] == "used"
    assert "connected" in parent.frame.locator("#message").inner_text()
    time.sleep(1.2)  # the page stops: nothing more is sent
    assert [m["data"]["type"] for m in parent.messages()] == [QR_DATA, QR_DATA, ERROR, QR_DATA, CONNECTED]
    assert parent.problems == []


def test_phone_linking_sends_a_pairing_code_and_the_phone_entering_it_connects_that_number(
        open_parent, server, site):
    link = server.qr_link("qa-workspace", 297)
    parent = open_parent(site.add("/phone.html", BARE_PARENT.format(link=link, extra="")))
    parent.send({"type": "TIMELINES_START_PHONE_LINKING", "phone": "0612345678"})
    assert parent.wait_message(ERROR, 1)["message"] == pairing.invalid_phone("0612345678")

    parent.send({"type": "TIMELINES_START_PHONE_LINKING", "phone": "+31612345678"})
    message = parent.wait_message(PAIRING, 1)
    assert set(message) == {"type", "code"} and re.fullmatch(r"[0-9]{8}", message["code"])
    code = message["code"]
    assert parent.frame.locator("#pairing-code").inner_text() == f"{code[:4]}-{code[4:]}"

    r = control(server, "POST", "/workspaces/qa-workspace/users/297/pairing-code", json={"code": code})
    assert r.status_code == 200, r.text
    assert parent.wait_message(CONNECTED, 1) == {"type": CONNECTED}
    assert user_state(server, 297)["whatsapp"]["phone_number_e164"] == "+31612345678"
    assert parent.messages(QR_DATA) == []  # no QR flow was asked for
    assert parent.problems == []


def test_each_forced_failure_arrives_as_timelines_error_and_a_qr_timeout_sends_nothing(open_parent, server, site):
    link = server.qr_link("qa-workspace", 298)
    base = "/workspaces/qa-workspace/users/298"
    parent = open_parent(site.add("/errors.html", BARE_PARENT.format(link=link, extra="")))
    errors = 0

    def expect_error(cause: str) -> None:
        nonlocal errors
        errors += 1
        message = parent.wait_message(ERROR, errors)
        assert message == {"type": ERROR, "error": "", "message": pairing.FAILURES[cause].message}, cause
        assert parent.frame.locator("#message").inner_text() == message["message"]

    scans = 0
    scan_causes = ["qr_mismatch", "server_ban", "logged_out", "logged_out_client", "banned", "payment_required"]
    for index, cause in enumerate(scan_causes):
        assert control(server, "PUT", base + "/next-failure", json={"cause": cause}).status_code == 200
        parent.send({"type": "TIMELINES_START_QR"})
        scans += 1
        parent.wait_message(QR_DATA, scans)
        if index % 2:  # the control API's scan, or the iframe's button
            assert control(server, "POST", base + "/scan").status_code == 409
        else:
            parent.frame.locator("#simulate-scan").click()
        expect_error(cause)

    for cause in ["pairing_code_request_failed", "pairing_code_timeout"]:
        control(server, "PUT", base + "/next-failure", json={"cause": cause})
        parent.send({"type": "TIMELINES_START_PHONE_LINKING", "phone": "+31612345678"})
        expect_error(cause)
    assert len(parent.messages(PAIRING)) == 1  # the timed-out code was sent before it expired

    control(server, "PUT", base + "/next-failure", json={"cause": "banned"})  # at a pairing-code entry
    parent.send({"type": "TIMELINES_START_PHONE_LINKING", "phone": "+31612345678"})
    code = parent.wait_message(PAIRING, 2)["code"]
    assert control(server, "POST", base + "/pairing-code", json={"code": code}).status_code == 409
    expect_error("banned")

    parent.send({"type": "TIMELINES_START_QR"})
    parent.wait_message(QR_DATA, scans + 1)
    control(server, "POST", "/clock", json={"advance_seconds": 5 * 45})
    parent.frame.locator("#message").filter(has_text="timed out").wait_for()
    time.sleep(1.2)
    assert len(parent.messages(ERROR)) == errors == 9  # the timeout sent nothing
    assert user_state(server, 298)["active_link"] is not None  # no failure used the link up
    assert parent.problems == []


def test_a_parent_on_an_unregistered_origin_cannot_frame_the_page_nor_start_its_flow(open_parent, server, site):
    link = server.qr_link("qa-workspace", 299)
    path = site.add("/stranger.html", README_PARENT.replace(PLACEHOLDER, link))
    parent = open_parent(path, origin=site.unregistered_origin)
    parent.page.wait_for_function("document.getElementById('timelines').contentDocument === null")
    time.sleep(2)  # the parent posted TIMELINES_START_QR on load; the page never ran to take it
    assert parent.messages() == []
    assert flow(server, link) == {"link": "active", "error": None, "qr": None, "pairing": None}
    refusals = [p for p in parent.problems if "frame-ancestors" in p]
    assert refusals, parent.problems  # Chromium reports the CSP refusal
    assert all("frame-ancestors" in p or "does not match the recipient window's origin" in p
               for p in parent.problems), parent.problems

    # A registered parent frames it beside a page of an unregistered origin, which keeps trying.
    rogue = site.add("/rogue.html", ROGUE)
    framed = open_parent(site.add("/with-rogue.html", BARE_PARENT.format(
        link=link, extra=f'<iframe id="rogue" src="{site.unregistered_origin}{rogue}"></iframe>')))
    framed.page.wait_for_function("window.loaded === true")
    time.sleep(1.5)
    assert framed.messages() == [] and flow(server, link)["qr"] is None  # ignored, silently
    framed.send({"type": "TIMELINES_START_QR"})  # the registered parent is heard
    assert framed.wait_message(QR_DATA, 1)["data"].startswith("data:image/svg+xml;base64,")
    assert framed.problems == []


def test_a_default_ui_iframe_that_was_sent_nothing_still_tells_the_parent_of_the_connection(
        open_parent, server, site):
    link = server.qr_link("qa-workspace", 300)
    parent = open_parent(site.add("/default-ui.html", BARE_PARENT.format(link=link, extra="")))
    parent.frame.locator("#start-qr").click()  # the person uses the iframe's own UI
    image = parent.frame.locator("#qr-image")
    image.wait_for(state="visible")
    parent.page.wait_for_timeout(200)
    [url] = decode(image.screenshot())
    assert url.startswith(link + "/scan?qr=")
    assert control(server, "POST", "/workspaces/qa-workspace/users/300/scan").status_code == 200
    assert parent.wait_message(CONNECTED, 1) == {"type": CONNECTED}
    assert [m["data"]["type"] for m in parent.messages()] == [CONNECTED]  # the images are not the parent's
    assert parent.frame.locator("#state").inner_text() == "used"
    assert parent.problems == []
