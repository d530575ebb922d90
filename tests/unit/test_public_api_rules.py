"""The Public API's rules (domain/public_api.py, domain/messages.py) on both stores: the caller of a
token, each call counted against the period's API calls, messages from the right account with their
credits, refusals at the quotas, statuses on the clock, and a reset that drops the messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partner_sandbox.domain import messages, public_api, tokens
from partner_sandbox.domain.alerts import API_CALLS_FULL, MESSAGING_FULL, MESSAGING_NEAR_FULL
from partner_sandbox.errors import PublicApiError
from partner_sandbox.fixtures import parse_world

WORLD = parse_world(
    """
partners:
  - id: p1
    secret: p1-secret-that-is-long-enough-000000
    plan: {id: 3, messages: 10, api_calls: 3}
    workspaces:
      - id: w1
        users:
          - {id: 1, whatsapp: {account_id: 10, phone_number_e164: "+15550000001"}}
          - {id: 2, whatsapp: {account_id: 20, phone_number_e164: "+15550000002"}}
          - {id: 3}
      - id: w2
        users: [{id: 4}]
      - id: billed
        billing_managed: true
        users: [{id: 5}]
  - id: p-off
    secret: off-secret-that-is-long-enough-0000000
    active: false
    workspaces:
      - id: w-off
        users: [{id: 6}]
""",
    "test",
)
T0 = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(open_store):
    store = open_store(WORLD, T0)
    with store.transaction() as tx:  # the outbox keeps the events of a partner with a webhook URL
        tx.set_webhook("p1", "http://127.0.0.1:9/hooks")
    return store


def token_for(store, workspace, partner="p1"):
    with store.transaction() as tx:
        if workspace in ("billed", "w-off"):  # the Partner API hands out none: written as a fixture would
            return tx.create_api_token(workspace, f"token-of-{workspace}-000000000000", T0)
        return tokens.current_token(tx, partner_id=partner, workspace_id=workspace, now=T0).token


def call(store, token, now=T0):
    with store.transaction() as tx:
        return public_api.authenticate_call(tx, token=token, real_now=now, partner_active=lambda p: p != "p-off")


def events(store, workspace="w1"):
    with store.transaction() as tx:
        return [d.body["event_type"] for d in reversed(tx.deliveries("p1", 100)) if d.body["workspace_id"] == workspace]


def send(store, now=T0, workspace="w1", **body):
    with store.transaction() as tx:
        return messages.send_message(tx, partner_id="p1", workspace_id=workspace, body={"phone": "+14840000000", **body},
                                     now=now)


def usage(store, workspace="w1"):
    with store.transaction() as tx:
        _period, sent, calls, *_ = tx.usage(workspace)
        return sent, calls


def test_a_token_names_its_workspace_and_each_call_counts_until_the_quota(store):
    token = token_for(store, "w1")
    assert call(store, token) == public_api.Caller("w1", "p1")
    call(store, token)
    assert usage(store)[1] == 2 and events(store) == []
    call(store, token)  # the third of three
    assert events(store) == [API_CALLS_FULL]
    with pytest.raises(PublicApiError) as refused:
        call(store, token)
    assert (refused.value.status, refused.value.code) == (429, "quota_exceeded")
    assert usage(store)[1] == 3 and events(store) == [API_CALLS_FULL]  # not counted, not sent again
    call(store, token, now=T0 + timedelta(days=31))  # April: a new period
    assert usage(store)[1] == 1


@pytest.mark.parametrize("token", ["unknown-token", ""])
def test_an_unknown_token_is_401_and_counts_nothing(store, token):
    with pytest.raises(PublicApiError) as refused:
        call(store, token)
    assert (refused.value.status, refused.value.code, refused.value.description) == (
        401, "invalid_token", "Invalid or expired token")


def test_a_rotated_token_is_401_at_once(store):
    old = token_for(store, "w1")
    with store.transaction() as tx:
        new = tokens.rotate_token(tx, partner_id="p1", workspace_id="w1", now=T0).token
    with pytest.raises(PublicApiError):
        call(store, old)
    assert call(store, new).workspace_id == "w1"


@pytest.mark.parametrize("workspace", ["billed", "w-off"])
def test_a_billed_workspace_or_a_switched_off_partners_is_403(store, workspace):
    token = token_for(store, workspace, partner="p-off" if workspace == "w-off" else "p1")
    with pytest.raises(PublicApiError) as refused:
        call(store, token)
    assert (refused.value.status, refused.value.to_dict()) == (
        403, {"status": "error", "message": "Access denied", "error_code": "permission_denied"})


@pytest.mark.parametrize("value, expected", [("+1 (484) 000-0000", "+14840000000"), ("14840000000", "+14840000000"),
                                             ("+1", None), ("abc", None), ("+1234567890123456", None), ("", None)])
def test_phone_numbers(value, expected):
    assert messages.normalized_phone(value) == expected


def test_the_sender_credits_and_the_messaging_quota(store):
    with store.transaction() as tx:  # user 2 connected last
        tx.connect_whatsapp("w1", 2, tx.account("w1", 2), T0 + timedelta(seconds=1))
    assert send(store, text="x").sender_phone == "+15550000002"
    assert send(store, text="x", whatsapp_account_phone="15550000001").user_id == 1
    assert send(store, file_uid="f").credits == 2
    assert usage(store)[0] == 4
    for _ in range(5):
        send(store, text="x")
    assert usage(store)[0] == 9 and events(store) == [MESSAGING_NEAR_FULL]
    with pytest.raises(PublicApiError) as refused:  # 9 + 2 > 10
        send(store, text="x", attachment_template_id=1)
    assert refused.value.code == "quota_exceeded"
    send(store, text="x")
    assert usage(store)[0] == 10 and events(store) == [MESSAGING_NEAR_FULL, MESSAGING_FULL]
    with pytest.raises(PublicApiError):
        send(store, text="x")
    with store.transaction() as tx:
        assert len(tx.messages("w1", 100)) == 9  # the refused ones not recorded


def test_no_connected_account_or_another_accounts_phone_is_404(store):
    with pytest.raises(PublicApiError) as none:
        send(store, workspace="w2", text="x")
    assert (none.value.status, none.value.code) == (404, "not_found")
    with pytest.raises(PublicApiError) as other:
        send(store, text="x", whatsapp_account_phone="+15550000003")
    assert other.value.status == 404 and usage(store)[0] == 0


@pytest.mark.parametrize("body", [{"text": ""}, {}, {"text": "a\x00b"}, {"text": "x", "phone": "nope"}])
def test_a_message_breaking_a_rule_is_400(store, body):
    with pytest.raises(PublicApiError) as refused:
        send(store, **body)
    assert (refused.value.status, refused.value.code) == (400, "validation_error")


def test_statuses_follow_the_clock_and_messages_are_the_workspaces(store):
    message = send(store, text="x")
    with store.transaction() as tx:
        found = messages.find_message(tx, workspace_id="w1", uid=message.uid)
        with pytest.raises(PublicApiError):
            messages.find_message(tx, workspace_id="w2", uid=message.uid)
    assert found == message
    assert messages.status_history(found, T0) == [("Sent", T0)]
    assert messages.status_history(found, T0 + timedelta(seconds=1)) == [("Sent", T0), ("Delivered", T0 + timedelta(seconds=1))]


def test_a_reset_drops_the_partners_messages(store):
    send(store, text="x")
    with store.transaction() as tx:
        tx.reset_partner(WORLD.partner("p1"), T0)
    with store.transaction() as tx:
        assert tx.messages("w1", 10) == []
