"""The pairing flow's rules (pairing.py) and embedding origins (embedding.py), on a real store
(SQLite in memory and PostgreSQL), with an injected clock and token sources."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from partner_sandbox.domain import accounts, embedding, links, pairing
from partner_sandbox.errors import ApiError

from tests.unit.test_domain import ROTATION, T0, WORLD, FakeClock, issue


@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)


def link(store, user=1):
    """Issue a link for the user at T0; its token."""
    return issue(store, FakeClock(T0), user=user).token


def flow(store, token, at):
    with store.transaction() as tx:
        return pairing.flow_view(tx, token, at, ROTATION)


def start_qr(store, token, at, secret="s1"):
    with store.transaction() as tx:
        return pairing.start_qr(tx, token, at, ROTATION, lambda: secret)


def request_code(store, token, phone, at, code="12345678"):
    with store.transaction() as tx:
        return pairing.request_pairing_code(tx, token, phone, at, ROTATION, lambda: code)


def scan(store, token, ref, at):
    with store.transaction() as tx:
        return pairing.scan_token(tx, token, ref, at, ROTATION)


def enter(store, code, at, user=1):
    with store.transaction() as tx:
        return pairing.enter_pairing_code(tx, partner_id="p1", workspace_id="w1", user_id=user, code=code,
                                          now=at, period=ROTATION)


def force(store, cause, user=1):
    with store.transaction() as tx:
        pairing.force_failure(tx, partner_id="p1", workspace_id="w1", user_id=user, cause=cause, now=T0)


def test_the_qr_rotates_every_period_and_times_out_after_five_images(store):
    token = link(store)
    assert flow(store, token, T0).qr is None
    first = start_qr(store, token, T0).qr
    assert (first.rotation, first.rotates_at) == (0, T0 + ROTATION)
    refs = [flow(store, token, T0 + ROTATION * i + timedelta(seconds=1)).qr for i in range(5)]
    assert [q.rotation for q in refs] == [0, 1, 2, 3, 4]
    assert len({q.ref for q in refs}) == 5 and refs[0].ref == first.ref
    timed_out = flow(store, token, T0 + ROTATION * 5)
    assert (timed_out.qr, timed_out.qr_timed_out, timed_out.flow.error) == (None, True, None)  # no error: nothing sent
    again = start_qr(store, token, T0 + ROTATION * 5, secret="s2").qr
    assert again.rotation == 0 and again.ref not in {q.ref for q in refs}


def test_only_the_image_showing_now_connects_a_stale_one_is_a_mismatch(store):
    token = link(store)
    first = start_qr(store, token, T0).qr
    later = T0 + ROTATION + timedelta(seconds=1)
    stale = scan(store, token, first.ref, later)
    assert (stale.failure, stale.account, stale.view.state) == (pairing.QR_MISMATCH, None, "active")
    assert stale.view.qr is None and stale.view.flow.error_seq == 1  # the flow stopped
    start_qr(store, token, later)
    assert scan(store, token, "x" * 22, later).failure == pairing.QR_MISMATCH  # a made-up one is no better
    attempt = scan(store, token, start_qr(store, token, later).qr.ref, later)
    assert attempt.failure is None and attempt.view.state == "used" and attempt.account is not None
    with pytest.raises(links.LinkGone):
        scan(store, token, None, later)


def test_a_pairing_code_connects_the_phone_that_asked_and_expires_after_180_seconds(store):
    token = link(store)
    view = request_code(store, token, "+31612345678", T0)
    assert (view.flow.pairing_code, view.flow.pairing_phone) == ("12345678", "+31612345678")
    assert view.flow.pairing_expires_at == T0 + timedelta(seconds=180)
    with pytest.raises(ApiError) as exc:
        enter(store, "87654321", T0)
    assert exc.value.code == "pairing_code_rejected" and "not the pairing code" in exc.value.description
    attempt = enter(store, "12345678", T0 + timedelta(seconds=179))
    assert attempt.account.phone_number_e164 == "+31612345678" and attempt.view.state == "used"
    assert attempt.account.account_id == accounts.phone_account("+31612345678").account_id
    with store.transaction() as tx:
        assert tx.account("w1", 1).phone_number_e164 == "+31612345678"
        assert tx.links("w1", 1, 1)[0].status == "used"

    token = link(store)  # a new link for the same user
    request_code(store, token, "+31612345678", T0)
    expired = flow(store, token, T0 + timedelta(seconds=180))
    assert (expired.flow.error, expired.flow.pairing_code) == (pairing.PAIRING_TIMEOUT, None)
    with pytest.raises(ApiError, match="No pairing code was asked for"):
        enter(store, "12345678", T0 + timedelta(seconds=180))


def test_an_expired_code_is_refused_even_before_the_page_looks(store):
    token = link(store)
    request_code(store, token, "+31612345678", T0)
    with pytest.raises(ApiError, match="has expired"):
        enter(store, "12345678", T0 + timedelta(seconds=180))


@pytest.mark.parametrize("phone", ["0612345678", "+0612345678", "31612345678", "+316123", "+31 6 1234 5678", "+3161234567890123", ""])
def test_a_phone_number_not_in_international_format_fails_by_itself(store, phone):
    token = link(store)
    view = request_code(store, token, phone, T0)
    assert view.flow.pairing_code is None and view.flow.error == pairing.invalid_phone(phone)


def test_a_forced_failure_waits_for_a_step_it_can_happen_at_and_is_used_up(store):
    token = link(store)
    force(store, "qr_mismatch")
    request_code(store, token, "+31612345678", T0)
    with store.transaction() as tx:
        assert tx.next_failure("w1", 1) == "qr_mismatch"  # a code request is no scan
    attempt = scan(store, token, None, T0)
    assert attempt.failure == pairing.QR_MISMATCH
    with store.transaction() as tx:
        assert tx.next_failure("w1", 1) is None
    assert scan(store, token, None, T0).failure is None  # used up: the next scan connects


@pytest.mark.parametrize("cause", ["server_ban", "logged_out", "logged_out_client", "banned", "payment_required"])
def test_connecting_causes_fail_a_scan_or_a_code_entry_with_their_message(store, cause):
    token = link(store)
    force(store, cause)
    assert scan(store, token, None, T0).failure == pairing.FAILURES[cause].message
    force(store, cause)
    request_code(store, token, "+31612345678", T0)
    attempt = enter(store, "12345678", T0)
    assert attempt.failure == pairing.FAILURES[cause].message and attempt.view.state == "active"
    assert cause in attempt.failure or cause == "server_ban"


def test_code_request_causes(store):
    token = link(store)
    force(store, "pairing_code_request_failed")
    view = request_code(store, token, "+31612345678", T0)
    assert view.flow.pairing_code is None and "invalid or blacklisted" in view.flow.error
    force(store, "pairing_code_timeout")
    view = request_code(store, token, "+31612345678", T0)
    assert view.flow.pairing_code == "12345678"  # given, then expired at the page's next look
    assert flow(store, token, T0).flow.error == pairing.PAIRING_TIMEOUT


def test_the_flow_belongs_to_its_link_and_a_dead_link_takes_no_step(store):
    token = link(store)
    start_qr(store, token, T0)
    newer = link(store)
    assert flow(store, newer, T0).qr is None
    assert flow(store, token, T0).state == "revoked"
    for step in (lambda: start_qr(store, token, T0), lambda: request_code(store, token, "+31612345678", T0)):
        with pytest.raises(links.LinkGone):
            step()
    with pytest.raises(ApiError) as exc:
        flow(store, "no-such-token", T0)
    assert exc.value.code == "not_found"


def test_qr_references_differ_per_secret_and_rotation():
    refs = {pairing.qr_ref(s, r) for s, r in itertools.product(["a", "b"], range(5))}
    assert len(refs) == 10 and all(len(r) == 22 for r in refs)


@pytest.mark.parametrize("text, canonical", [
    ("https://app.example", "https://app.example"),
    ("http://localhost:3000", "http://localhost:3000"),
    ("https://App.Example:443", "https://app.example"),
    ("http://app.example:80", "http://app.example"),
    ("http://app.example:0080", "http://app.example"),
    ("http://app.example:443", "http://app.example:443"),
    ("http://127.0.0.1:08080", "http://127.0.0.1:8080"),
    ("http://127.0.0.1:0", "http://127.0.0.1:0"),
    ("https://app.example/", None),
    ("https://app.example/embed", None),
    ("https://app.example?x=1", None),
    ("https://user@app.example", None),
    ("https://app.example.", None),
    ("HTTPS://app.example", None),
    ("file:///tmp", None),
    ("app.example", None),
    ("https://app.example:65536", None),
    ("http://[::1]:8080", None),
])
def test_origins_are_kept_as_a_browser_writes_them(text, canonical):
    assert embedding.canonical_origin(text) == canonical


def test_checked_origins_keep_each_once_and_name_what_is_not_an_origin():
    assert embedding.checked_origins(["http://localhost:3000", "https://App.example:443", "https://app.example"]) == [
        "http://localhost:3000", "https://app.example"]
    with pytest.raises(ApiError, match=r"origins\[1\]: 'https://a.example/x' is not an origin"):
        embedding.checked_origins(["http://localhost:3000", "https://a.example/x"])
    assert embedding.frame_ancestors([]) == "frame-ancestors 'none'"
    assert embedding.frame_ancestors(["http://a.example", "https://b.example"]) == \
        "frame-ancestors http://a.example https://b.example"


def test_the_control_spec_has_the_origin_pattern_of_the_rule():
    import yaml
    from partner_sandbox.resources import control_spec_path

    spec = yaml.safe_load(control_spec_path().read_text())
    items = spec["components"]["schemas"]["EmbeddingOrigins"]["properties"]["origins"]["items"]
    assert items["pattern"] == embedding.ORIGIN_PATTERN


def test_the_control_spec_has_the_webhook_url_pattern_of_the_rule():
    import yaml
    from partner_sandbox.webhooks import urls as webhooks
    from partner_sandbox.resources import control_spec_path

    spec = yaml.safe_load(control_spec_path().read_text())
    body = spec["paths"]["/webhook"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["url"]["pattern"] == webhooks.URL_PATTERN
    assert body["properties"]["url"]["maxLength"] == webhooks.MAX_URL
