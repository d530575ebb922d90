"""The dashboard at / in a real headless Chromium (Debian's, driven by playwright), on a real server
process with the shipped fixtures: sign-in, the world updating without a reload, actions through the
control and Partner APIs, the journal's explanations, webhook attempts and redelivery, the HAR
export, tenant isolation, a phone's width and the keyboard. Every test also holds the page to no
console error and no request off loopback. With SCREENSHOT_DIR set, it writes the README's
screenshots (docs/dashboard.png, docs/dashboard-phone.png)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jwt
import pytest

from tests.helpers import DEFAULT_FIXTURES, SECRETS, auth_headers, control, make_token
from tests.receivers import Receiver

SECRET = SECRETS["sandbox-partner"]
API = "/partner/api/v1"
WAIT = 15_000  # ms: the page polls every 2 s


@pytest.fixture(scope="module")
def server(start_module_sandbox):
    # Quick retries, two attempts a round: a receiver down for both leaves a failed event.
    return start_module_sandbox("--webhook-backoff", "0.2", "--webhook-attempts", "2", fixtures=DEFAULT_FIXTURES)


class Watched:
    """A page whose console errors, script errors and requests off the server are collected."""

    def __init__(self, browser, server, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        # Chromium reports each answer of 4xx/5xx to a fetch on the console: the page's own calls have
        # none, unless a test makes one on purpose and says so (expected_failed_loads)
        self.failed_loads: list[str] = []
        self.expected_failed_loads: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("request", lambda r: None if r.url.startswith((server.base_url + "/", "blob:" + server.base_url))
                     else self.problems.append(f"request off the server: {r.url}"))

    def _console(self, message):
        if message.type not in ("error", "warning"):
            return
        failed = re.fullmatch(r"Failed to load resource: the server responded with a status of (\d+) .*", message.text)
        if failed:
            self.failed_loads.append(failed.group(1))
        else:
            self.problems.append(f"console {message.type}: {message.text}")

    def sign_in(self, server, partner: str = "sandbox-partner", secret: str = SECRET):
        page = self.page
        page.goto(server.base_url + "/")
        page.fill("#partner-id", partner)
        page.fill("#secret", secret)
        page.click("#secret-form button[type=submit]")
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT)
        return page

    def close(self):
        self.context.close()
        assert self.problems == []
        assert self.failed_loads == self.expected_failed_loads


@pytest.fixture
def watched(browser, server):
    made: list[Watched] = []

    def make(**context) -> Watched:
        made.append(Watched(browser, server, **context))
        return made[-1]

    yield make
    for w in made:
        w.close()


def workspace(page, workspace_id: str):
    return page.locator(f'details.workspace[data-workspace="{workspace_id}"]')


def quota_text(page, workspace_id: str, label: str) -> str:
    return workspace(page, workspace_id).locator(".quota", has_text=label).locator("b").inner_text()


def test_sign_in_shows_the_fixture_world_and_a_new_workspace_appears_without_a_reload(server, watched):
    w = watched()
    page = w.sign_in(server)
    assert page.inner_text("#who-partner") == "sandbox-partner"
    page.wait_for_selector('details.workspace[data-workspace="my-first-workspace"]', timeout=WAIT)
    users = workspace(page, "my-first-workspace").locator("tbody tr")
    assert users.count() == 20
    assert "connected +15550100043" in users.filter(has=page.locator("td", has_text=re.compile(r"^43$"))).inner_text()
    assert "suspended" in workspace(page, "my-first-workspace").locator('tr[data-user="61"]').inner_text()
    assert workspace(page, "my-first-workspace").locator('tr[data-user="44"] a', has_text="QR page").count() == 1
    assert quota_text(page, "my-first-workspace", "Seats") == "19 / 25"  # 19 active users, one suspended
    assert workspace(page, "billed-workspace").count() == 0  # billed directly: out of the Partner API's reach

    page.evaluate("window.notReloaded = true")
    created = server.client.post(API + "/workspaces", headers=auth_headers(),
                                 json={"display_name": "Dashboard-Live", "seats_purchased": 4})
    assert created.status_code == 201, created.text
    new_id = created.json()["workspace_id"]
    page.wait_for_selector(f'details.workspace[data-workspace="{new_id}"]', timeout=WAIT)
    assert page.evaluate("window.notReloaded") is True
    assert "Dashboard-Live" in workspace(page, new_id).locator("summary").inner_text()
    # the newest first
    assert page.locator("details.workspace").first.get_attribute("data-workspace") == new_id


def test_a_simulated_scan_connects_and_the_next_month_restarts_the_quotas(server, watched):
    w = watched()
    page = w.sign_in(server)
    ws = "my-first-workspace"
    page.wait_for_selector(f'details.workspace[data-workspace="{ws}"]', timeout=WAIT)
    block = workspace(page, ws)
    try:
        block.locator("select[id^=usage-kind]").select_option("messages")
        block.locator("input[id^=usage-amount]").fill("120")
        block.locator("form.usage button[type=submit]").click()
        page.wait_for_function(f"""() => [...document.querySelectorAll('details.workspace[data-workspace="{ws}"] .quota')]
                                   .some(q => q.textContent.startsWith('Messages') && q.querySelector('b').textContent.startsWith('120 /'))""",
                               timeout=WAIT)
        before = block.locator(".quota", has_text="Messages").locator("span").inner_text()

        block.locator("select[id^=user]").select_option("44")  # the fixtures give user 44 an active link
        block.locator("button.scan").click()
        page.wait_for_function(f"""() => (document.querySelector('details.workspace[data-workspace="{ws}"] tr[data-user="44"]')
                                   || {{textContent: ''}}).textContent.includes('connected +')""", timeout=WAIT)
        assert "Scanned: user 44" in page.inner_text("#status")
        state = control(server, "GET", f"/workspaces/{ws}/users/44").json()
        assert state["whatsapp"]["connected"] is True
        assert state["whatsapp"]["phone_number_e164"] in block.locator('tr[data-user="44"]').inner_text()

        page.click("#clock-next-month")
        page.wait_for_function(f"""() => [...document.querySelectorAll('details.workspace[data-workspace="{ws}"] .quota')]
                                   .some(q => q.textContent.startsWith('Messages') && q.querySelector('b').textContent.startsWith('0 /'))""",
                               timeout=WAIT)
        after = block.locator(".quota", has_text="Messages").locator("span").inner_text()
        assert after != before  # a new billing period
        clock = control(server, "GET", "/clock").json()
        assert clock["now"][8:10] == "01" and page.inner_text("#clock-now") == clock["now"]
    finally:
        control(server, "POST", "/clock", json={"real": True})
        control(server, "POST", "/reset")


def test_a_request_the_test_sends_appears_in_the_journal_with_its_explanation(server, watched):
    w = watched()
    page = w.sign_in(server)
    r = server.client.get(API + "/workspaces/no-such-workspace", headers=auth_headers())
    assert r.status_code == 404
    entry = page.locator("#journal li.entry", has_text="/workspaces/no-such-workspace").first
    entry.wait_for(timeout=WAIT)
    text = entry.inner_text()
    assert "404" in text and "GET /partner/api/v1/workspaces/no-such-workspace" in text
    why = entry.locator(".why").inner_text()
    assert why.startswith("workspace_not_found: ") and "No workspace of this partner has this id" in why
    assert "Workspace 'no-such-workspace' was not found" in why  # the error's own description
    entry.locator("summary").click()
    assert "authorization: <redacted>" in entry.inner_text()
    assert "Bearer" not in entry.inner_text()

    # past the 50 entries the page shows, new requests keep an open entry open (and redraw nothing else)
    for n in range(55):
        server.client.get(API + f"/workspaces/filler-{n}", headers=auth_headers())
    page.locator("#journal li.entry", has_text="/workspaces/filler-54").wait_for(timeout=WAIT)
    opened = page.locator("#journal li.entry", has_text="/workspaces/filler-40").locator("details")
    opened.locator("summary").click()
    assert opened.get_attribute("open") is not None
    server.client.get(API + "/workspaces/one-more", headers=auth_headers())
    page.locator("#journal li.entry", has_text="/workspaces/one-more").wait_for(timeout=WAIT)
    assert opened.get_attribute("open") is not None
    assert page.locator("#journal li.entry").count() == 50


def test_a_webhook_that_fails_then_succeeds_shows_both_attempts_and_a_failed_one_is_sent_again(server, watched):
    receiver = Receiver(fail_first=1)
    w = watched()
    page = w.sign_in(server)
    try:
        page.fill("#webhook-url", receiver.url)
        page.click("#webhook-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Webhooks go to')", timeout=WAIT)
        assert control(server, "GET", "/webhook").json()["url"] == receiver.url

        block = workspace(page, "my-first-workspace")
        block.wait_for(timeout=WAIT)
        block.locator("button.rotate").click()  # rotation sends api_token:rotated
        delivered = page.locator("#deliveries li.delivery", has_text="api_token:rotated").filter(
            has=page.locator(".badge", has_text="delivered")).first
        delivered.wait_for(timeout=WAIT)
        delivered.locator("summary").click()
        rows = delivered.locator("tr.attempt").all_inner_texts()
        assert len(rows) == 2 and "HTTP 500" in rows[0] and "delivered" in rows[1] and "204" in rows[1]
        body = json.loads(delivered.locator("pre").first.inner_text())
        assert body["event_type"] == "api_token:rotated" and body["workspace_id"] == "my-first-workspace"
        # the signature header shown is the one the receiver got: the same claims, never the JWT itself
        assert len(receiver.events) == 1
        received = jwt.decode(receiver.attempts[-1]["signature"], SECRET, algorithms=["HS256"],
                              options={"verify_exp": False, "verify_nbf": False})
        shown = delivered.locator("pre", has_text="X-TL-Signature").inner_text()
        assert json.loads(shown.split("claims ", 1)[1]) == received
        assert receiver.attempts[-1]["signature"] not in page.content()

        # a receiver that is down: both attempts fail and the event is failed; up again, it is sent again
        down = Receiver()
        down.stop()  # its port refuses connections now
        page.fill("#webhook-url", down.url)
        page.click("#webhook-form button[type=submit]")
        page.wait_for_function(f"() => document.getElementById('status').textContent === 'Webhooks go to {down.url}.'",
                               timeout=WAIT)
        block.locator("button.rotate").click()
        failed = page.locator("#deliveries li.delivery", has_text="api_token:rotated").filter(
            has=page.locator(".badge", has_text="failed")).first
        failed.wait_for(timeout=WAIT)
        failed.locator("summary").click()
        rows = failed.locator("tr.attempt").all_inner_texts()
        assert len(rows) == 2 and all("connection error" in row for row in rows)
        event_id = failed.get_attribute("data-delivery")
        page.fill("#webhook-url", receiver.url)
        page.click("#webhook-form button[type=submit]")
        page.wait_for_function(f"() => document.getElementById('status').textContent === 'Webhooks go to {receiver.url}.'",
                               timeout=WAIT)
        failed.locator("button.redeliver").click()
        again = page.locator(f'#deliveries li.delivery[data-delivery="{event_id}"]').filter(
            has=page.locator(".badge", has_text="delivered"))
        again.wait_for(timeout=WAIT)
        rows = again.locator("tr.attempt").all_inner_texts()
        assert len(rows) == 3 and "delivered" in rows[2]
        assert len(receiver.events) == 2
    finally:
        control(server, "DELETE", "/webhook")
        receiver.stop()


def test_the_har_export_parses_and_holds_the_entries_without_secrets(server, watched, tmp_path):
    w = watched(accept_downloads=True)
    page = w.sign_in(server)
    issued = server.issue("my-first-workspace", 42)
    assert issued.status_code == 200
    link_token = issued.json()["qr_link"].rsplit("/", 1)[1]
    token = server.client.get(API + "/workspaces/my-first-workspace/api-token", headers=auth_headers()).json()["token"]
    missing = server.client.get(API + "/workspaces/nope", headers=auth_headers())
    page.locator("#journal li.entry", has_text="/workspaces/nope").first.wait_for(timeout=WAIT)

    with page.expect_download() as download:
        page.click("#har")
    path = tmp_path / "journal.har"
    download.value.save_as(path)
    assert download.value.suggested_filename == "partner-sandbox-sandbox-partner.har"
    text = path.read_text()
    har = json.loads(text)["log"]
    assert har["version"] == "1.2" and har["creator"]["name"] == "partner-sandbox"
    urls = [e["request"]["url"] for e in har["entries"]]
    assert server.base_url + API + "/workspaces/nope" in urls
    failed = next(e for e in har["entries"] if e["request"]["url"].endswith("/workspaces/nope"))
    assert failed["response"]["status"] == missing.status_code == 404
    assert failed["comment"].startswith("workspace_not_found: ")
    assert json.loads(failed["response"]["content"]["text"])["error"] == "workspace_not_found"
    started = [e["startedDateTime"] for e in har["entries"]]
    assert started == sorted(started)  # oldest first
    for secret in (link_token, token, SECRET):
        assert secret not in text
    assert not re.search(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.", text)  # no JWT
    assert "Bearer" not in text
    authorizations = [h["value"] for e in har["entries"] for h in e["request"]["headers"] if h["name"] == "authorization"]
    assert authorizations and set(authorizations) == {"<redacted>"}


def test_another_partner_sees_none_of_it(server, watched):
    # sandbox-partner's world has a request and an event of its own first
    receiver = Receiver()
    control(server, "PUT", "/webhook", json={"url": receiver.url})
    try:
        server.client.post(API + "/workspaces/my-first-workspace/api-token", headers=auth_headers())
        receiver.wait_for(1)
    finally:
        control(server, "DELETE", "/webhook")
        receiver.stop()
    w = watched()
    page = w.page
    page.goto(server.base_url + "/")
    page.fill("#partner-id", "other-partner")
    page.fill("#secret", SECRET)  # sandbox-partner's secret does not open other-partner
    w.expected_failed_loads = ["401"]
    page.click("#secret-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('sign-in-error').textContent.includes('invalid_credentials')",
                           timeout=WAIT)
    assert page.is_hidden("#app")

    # a JWT of other-partner's own
    page.fill("#jwt", make_token("other-partner"))
    page.click("#jwt-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT)
    page.wait_for_selector('details.workspace[data-workspace="other-workspace"]', timeout=WAIT)
    page.wait_for_selector("#journal li", timeout=WAIT)
    page.wait_for_selector("#deliveries li", timeout=WAIT)
    seen = page.inner_text("#app")
    assert page.locator("details.workspace").count() == 1
    for theirs in ("my-first-workspace", "billed-workspace", "/workspaces/nope", "api_token:rotated", "sandbox-partner"):
        assert theirs not in seen, theirs
    assert page.inner_text("#who-partner") == "other-partner"


def test_a_phone_and_a_keyboard_can_use_it(server, watched):
    w = watched(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = w.page
    page.goto(server.base_url + "/")
    assert page.evaluate("document.activeElement.id") == "partner-id"  # the first field has the focus
    page.keyboard.type("sandbox-partner")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "secret"
    page.keyboard.type(SECRET)
    page.keyboard.press("Enter")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT)
    page.wait_for_selector('details.workspace[data-workspace="my-first-workspace"]', timeout=WAIT)
    page.wait_for_selector("#journal li", timeout=WAIT)
    # nothing wider than the phone's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # every control is labelled
    unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
        .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id || e.outerHTML)""")
    assert unlabelled == []
    buttons = page.evaluate("""[...document.querySelectorAll('button')].filter(b => !(b.textContent.trim()
        || b.getAttribute('aria-label'))).length""")
    assert buttons == 0
    # Tab reaches the actions, and the focused one shows a visible outline
    reached, outlined = set(), True
    for _ in range(60):
        page.keyboard.press("Tab")
        focus = page.evaluate("""(() => { const e = document.activeElement, s = getComputedStyle(e);
            return {id: e.id, cls: e.className, tag: e.tagName, outline: s.outlineStyle + ' ' + s.outlineWidth}; })()""")
        if focus["tag"] == "BODY":  # past the last control, the focus leaves the page for a moment
            continue
        reached.add(focus["id"] or focus["cls"])
        if focus["outline"].split()[0] == "none" or focus["outline"].split()[1] == "0px":
            outlined = False
            print("no outline:", focus)
    assert {"clock-hour", "clock-next-month", "scan", "issue-qr"} <= reached | {c for r in reached for c in r.split()}
    assert outlined
    # an action by keyboard: +1 hour
    page.focus("#clock-hour")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('+1 hour: the clock reads')",
                           timeout=WAIT)
    control(server, "POST", "/clock", json={"real": True})
    if os.environ.get("SCREENSHOT_DIR"):
        page.evaluate("window.scrollTo(0, 0); document.querySelectorAll('.table').forEach(t => t.scrollLeft = 0)")
        (Path(os.environ["SCREENSHOT_DIR"]) / "dashboard-phone.png").write_bytes(page.screenshot())


def test_screenshot_of_the_dashboard(server, watched, tmp_path):
    """The README's picture: the world, the journal with an explained error and a delivered webhook."""
    receiver = Receiver()
    control(server, "PUT", "/webhook", json={"url": receiver.url})
    w = watched(viewport={"width": 1400, "height": 1000})
    page = w.sign_in(server)
    try:
        server.issue("my-first-workspace", 45)
        server.client.get(API + "/workspaces/my-first-workspace/users/9999/qr", headers=auth_headers())
        server.client.post(API + "/workspaces/my-first-workspace/users/9999/qr", headers=auth_headers())
        control(server, "POST", "/workspaces/my-first-workspace/users/45/scan")
        receiver.wait_for(1)
        page.locator("#deliveries li.delivery", has_text="whatsapp_account:connected").first.wait_for(timeout=WAIT)
        page.locator("#journal li.entry.failed", has_text="/users/9999/qr").first.wait_for(timeout=WAIT)
        shot = page.screenshot(full_page=False)
        (tmp_path / "dashboard.png").write_bytes(shot)
        assert len(shot) > 10_000
        if os.environ.get("SCREENSHOT_DIR"):
            (Path(os.environ["SCREENSHOT_DIR"]) / "dashboard.png").write_bytes(shot)
    finally:
        control(server, "DELETE", "/webhook")
        receiver.stop()
        control(server, "POST", "/reset")


def test_the_other_actions_go_through_the_control_api(server, watched):
    w = watched()
    page = w.sign_in(server)
    ws = "my-first-workspace"
    block = workspace(page, ws)
    block.wait_for(timeout=WAIT)
    try:
        block.locator("select[id^=user]").select_option("42")
        block.locator("select[id^=cause]").select_option("banned")
        block.locator("button.force-failure").click()
        page.wait_for_function("() => document.getElementById('status').textContent.includes('fails with banned')", timeout=WAIT)
        assert control(server, "GET", f"/workspaces/{ws}/users/42").json()["next_failure"] == "banned"
        block.locator("button", has_text="Clear failure").click()
        page.wait_for_function("() => document.getElementById('status').textContent === 'Clear failure: done.'", timeout=WAIT)
        assert control(server, "GET", f"/workspaces/{ws}/users/42").json()["next_failure"] is None

        block.locator("button.issue-qr").click()
        page.wait_for_function("() => document.getElementById('status').textContent.includes('A QR link was issued for user 42')",
                               timeout=WAIT)
        assert control(server, "GET", f"/workspaces/{ws}/users/42").json()["active_link"] is not None

        page.fill("#origins", "https://app.partner.example\nhttp://LOCALHOST:3000")
        page.click("#origins-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Your QR links may be embedded by')",
                               timeout=WAIT)
        assert control(server, "GET", "/embedding-origins").json()["origins"] == ["https://app.partner.example",
                                                                                 "http://localhost:3000"]
        assert page.input_value("#origins") == "https://app.partner.example\nhttp://localhost:3000"

        page.fill("#clock-set", "2031-05-06T07:08:09")
        page.click("#clock-set-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('clock-now').textContent.startsWith('2031-05-06T07:08')", timeout=WAIT)
        page.click("#clock-freeze")
        page.wait_for_function("() => document.getElementById('clock-freeze').textContent === 'Unfreeze'", timeout=WAIT)
        assert control(server, "GET", "/clock").json()["frozen"] is True
        page.click("#clock-real")
        page.wait_for_function("() => document.getElementById('clock-mode').textContent === '(real time)'", timeout=WAIT)
        clock = control(server, "GET", "/clock").json()
        assert clock["frozen"] is False and abs(clock["offset_seconds"]) < 5

        page.click("#reset-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Reset:')", timeout=WAIT)
        assert control(server, "GET", f"/workspaces/{ws}/users/42").json()["active_link"] is None
    finally:
        control(server, "PUT", "/embedding-origins", json={"origins": ["http://localhost:3000", "http://127.0.0.1:3000"]})
        control(server, "POST", "/clock", json={"real": True})
        control(server, "POST", "/reset")


def test_a_token_that_no_longer_opens_the_apis_sends_the_page_back_to_sign_in(server, watched):
    w = watched()
    page = w.page
    page.goto(server.base_url + "/")
    # a session kept in the tab whose token has expired since (exp an hour ago)
    expired = make_token("sandbox-partner", exp=int(__import__("time").time()) - 3600)
    page.evaluate("t => sessionStorage.setItem('sandbox-session', JSON.stringify({token: t, partner: 'sandbox-partner'}))",
                  expired)
    w.expected_failed_loads = ["401"]
    page.reload()
    page.wait_for_function("() => document.getElementById('sign-in-error').textContent.includes('timestamp_out_of_range')",
                           timeout=WAIT)
    assert page.is_hidden("#app") and page.is_visible("#sign-in")
    assert page.evaluate("sessionStorage.getItem('sandbox-session')") is None


def test_what_the_user_types_before_the_settings_arrive_is_kept(server, watched):
    w = watched()
    page = w.page
    held = []  # the page's read of the webhook URL, answered when the test says
    page.route("**/sandbox/v1/webhook", lambda route: held.append(route) if route.request.method == "GET"
               else route.continue_())
    w.sign_in(server)
    page.fill("#webhook-url", "http://127.0.0.1:9/typed-first")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.wait_for_function("() => document.getElementById('origins').value.includes('http://localhost:3000')", timeout=WAIT)
    page.wait_for_timeout(200)
    assert page.input_value("#webhook-url") == "http://127.0.0.1:9/typed-first"
