"""The QR page in a real headless Chromium: it renders, its QR code decodes to the scan page, and
"Simulate scan" changes the state seen through the APIs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import zxingcpp
from PIL import Image

from tests.helpers import control


def test_page_renders_scannable_qr_and_simulated_scan_connects(browser, start_sandbox, tmp_path):
    server = start_sandbox()
    issued = server.issue("qa-workspace", 11, json={"expires_in_hours": 3}).json()
    page = browser.new_page()
    problems: list[str] = []
    # CSP violations and script errors; "failed to load" messages only echo statuses we assert on
    page.on("console", lambda m: problems.append(m.text) if "Failed to load resource" not in m.text
            and m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(server.base_url) else problems.append(f"external {r.url}"))

    response = page.goto(issued["qr_link"])
    assert response.status == 200
    assert page.inner_text("#workspace") == "qa-workspace" and page.inner_text("#user") == "11"
    assert page.inner_text("#state") == "active"
    assert page.inner_text("#expires-at") == issued["expires_at"]
    # the countdown script ran under the page's CSP and counts from about three hours
    page.wait_for_function("document.getElementById('countdown').textContent.includes('h ')")
    assert page.inner_text("#countdown").startswith("2h 59m") or page.inner_text("#countdown").startswith("3h 00m")

    shot = page.screenshot(full_page=True)
    (tmp_path / "qr-page.png").write_bytes(shot)
    if os.environ.get("SCREENSHOT_DIR"):
        (Path(os.environ["SCREENSHOT_DIR"]) / "qr-page.png").write_bytes(shot)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert [d.text for d in decoded] == [issued["qr_link"] + "/scan"]

    page.click("#simulate-scan")
    page.wait_for_selector("#result")
    assert "WhatsApp connected" in page.inner_text("h1")
    account = control(server, "GET", "/workspaces/qa-workspace/users/11").json()["whatsapp"]
    assert account["connected"] is True and account["phone_number_e164"] in page.inner_text("#result")

    reissued = server.issue("qa-workspace", 11).json()
    assert (reissued["whatsapp_disconnected"], reissued["previous_qr_revoked"]) == (True, False)

    gone = page.goto(issued["qr_link"])
    assert gone.status == 410 and page.inner_text("#state") == "used"
    assert problems == []
