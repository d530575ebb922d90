"""How a QR link gets used: the pairing flow of the link's page (rotating QR images, phone pairing
codes), the scans that connect an account, and the failures a partner can force on them.

A link's flow is state of the store, so that every page, replica and control call sees the same:
the QR flow's start and secret (each rotation's image encodes a reference derived from them, so a
stale image no longer matches), the pairing code asked for with its phone number, and the last
error. Rotation, timeouts and expiry are read off the partner's clock, so the test clock drives them.
Functions here change state and return what happened; a failure is recorded, not raised, so that
the transaction keeps it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from collections.abc import Callable

from typing import Protocol

from .. import ecma
from ..errors import ApiError
from .accounts import connect_link
from .clock import partner_now
from .links import LinkGone, link_for_token
from .model import Flow, LinkRecord, WhatsAppAccount
from .ownership import Ownership, owned_user
from .ports import Accounts, Clocks, Events, Flows, Links


class Pairing(Ownership, Links, Accounts, Events, Flows, Clocks, Protocol):
    pass

QR_IMAGES = 5  # a QR flow shows this many images, one a rotation, then times out
PAIRING_CODE_LIFETIME = timedelta(seconds=180)
PHONE = ecma.compile(r"^\+[1-9][0-9]{6,14}$")  # international format: +, country code, number

# The steps of a flow that can fail.
SCAN, CODE_ENTRY, CODE_REQUEST = "scan", "code_entry", "code_request"


@dataclass(frozen=True)
class Failure:
    steps: frozenset[str]  # the steps this cause can happen at
    message: str  # what TIMELINES_ERROR says


QR_MISMATCH = "QR Code mismatch. Please generate a new one."
PAIRING_TIMEOUT = "The pairing code expired before it was entered on the phone. Please request a new one."
_CONNECTING = frozenset({SCAN, CODE_ENTRY})
# The published causes of TIMELINES_ERROR, by the name a partner forces them with.
FAILURES: dict[str, Failure] = {
    "qr_mismatch": Failure(frozenset({SCAN}), QR_MISMATCH),
    "server_ban": Failure(_CONNECTING, "This WhatsApp account or device is banned from connecting. Please contact support."),
    "logged_out": Failure(_CONNECTING, "WhatsApp logged this device out (logged_out). Please try again."),
    "logged_out_client": Failure(_CONNECTING, "The device was logged out from the phone (logged_out_client). Please try again."),
    "banned": Failure(_CONNECTING, "This WhatsApp account is banned by WhatsApp (banned)."),
    "payment_required": Failure(_CONNECTING, "WhatsApp flagged this account for payment (payment_required)."),
    "pairing_code_timeout": Failure(frozenset({CODE_REQUEST}), PAIRING_TIMEOUT),
    "pairing_code_request_failed": Failure(
        frozenset({CODE_REQUEST}), "Could not get a pairing code: the phone number is invalid or blacklisted."),
}


def invalid_phone(phone: str) -> str:
    return (f"Could not get a pairing code: {phone!r} is not a phone number in international format"
            " (a + and the country code, e.g. +31612345678).")


def new_pairing_code() -> str:
    """8 digits, as WhatsApp shows them (1234-5678 to the person)."""
    return f"{secrets.randbelow(10**8):08d}"


@dataclass(frozen=True)
class QrImage:
    rotation: int
    ref: str  # what this image's scan URL carries: stale once the next rotation begins
    rotates_at: datetime


@dataclass(frozen=True)
class FlowView:
    link: LinkRecord
    state: str  # the link's: active, used, revoked, expired
    now: datetime
    flow: Flow
    qr: QrImage | None
    qr_timed_out: bool


@dataclass(frozen=True)
class Attempt:
    """A try at connecting: the account connected, or the failure's message."""

    view: FlowView
    account: WhatsAppAccount | None = None
    failure: str | None = None


def qr_ref(secret: str, rotation: int) -> str:
    digest = hashlib.sha256(f"{secret}:{rotation}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def current_qr(flow: Flow, now: datetime, period: timedelta) -> tuple[QrImage | None, bool]:
    """The QR image showing now, and whether the QR flow timed out (nobody scanned in time)."""
    if flow.qr_started_at is None:
        return None, False
    rotation = max(0, int((now - flow.qr_started_at) / period))
    if rotation >= QR_IMAGES:
        return None, True
    return QrImage(rotation, qr_ref(flow.qr_secret or "", rotation), flow.qr_started_at + (rotation + 1) * period), False


def _view(link: LinkRecord, flow: Flow, now: datetime, period: timedelta) -> FlowView:
    state = link.state(now)
    qr, timed_out = current_qr(flow, now, period) if state == "active" else (None, False)
    return FlowView(link, state, now, flow, qr, timed_out)


def _link(tx: Pairing, token: str, real_now: datetime) -> tuple[LinkRecord, datetime]:
    """The link behind a page's token (locked as issuance locks it) and its partner's time."""
    found = link_for_token(tx, token)
    if found is None:
        raise ApiError("not_found", "No QR link has this address")
    tx.user(found.workspace_id, found.user_id)  # on PostgreSQL, queue behind issuance; then read again
    link = link_for_token(tx, token) or found
    return link, partner_now(tx, link.partner_id, real_now)


def _active(link: LinkRecord, now: datetime) -> None:
    state = link.state(now)
    if state != "active":
        raise LinkGone(link, state)


def flow_view(tx: Pairing, token: str, real_now: datetime, period: timedelta) -> FlowView:
    """What the page shows now; a pairing code that has expired becomes the flow's error."""
    link, now = _link(tx, token, real_now)
    flow = tx.link_flow(link.id)
    expires = flow.pairing_expires_at
    if link.state(now) == "active" and flow.pairing_code is not None and expires is not None and now >= expires:
        flow = flow.failed(PAIRING_TIMEOUT)
        tx.save_link_flow(link.id, flow)
    return _view(link, flow, now, period)


def start_qr(tx: Pairing, token: str, real_now: datetime, period: timedelta,
             new_secret: Callable[[], str]) -> FlowView:
    """Start (or restart) the QR flow: a new series of images; a pairing code asked for is dropped."""
    link, now = _link(tx, token, real_now)
    _active(link, now)
    previous = tx.link_flow(link.id)
    flow = previous.next_step(qr_started_at=now, qr_secret=new_secret())
    tx.save_link_flow(link.id, flow)
    return _view(link, flow, now, period)


def _take_failure(tx: Pairing, link: LinkRecord, step: str) -> str | None:
    """The failure forced on the user's next step, if it can happen at this step (then it is used up)."""
    cause = tx.next_failure(link.workspace_id, link.user_id)
    if cause is None or step not in FAILURES[cause].steps:
        return None
    tx.set_next_failure(link.workspace_id, link.user_id, None)
    return cause


def request_pairing_code(tx: Pairing, token: str, phone: str, real_now: datetime, period: timedelta,
                         new_code: Callable[[], str]) -> FlowView:
    """Ask for a pairing code for a phone number; the QR flow stops. An invalid number fails."""
    link, now = _link(tx, token, real_now)
    _active(link, now)
    previous = tx.link_flow(link.id)
    if not PHONE.match(phone):
        flow = previous.failed(invalid_phone(phone))
    else:
        cause = _take_failure(tx, link, CODE_REQUEST)
        if cause == "pairing_code_request_failed":
            flow = previous.failed(FAILURES[cause].message)
        else:  # a forced timeout: the code is given, and has expired by the page's next look
            lifetime = timedelta(0) if cause == "pairing_code_timeout" else PAIRING_CODE_LIFETIME
            flow = previous.next_step(pairing_code=new_code(), pairing_phone=phone, pairing_expires_at=now + lifetime)
    tx.save_link_flow(link.id, flow)
    return _view(link, flow, now, period)


def _fail(tx: Pairing, link: LinkRecord, flow: Flow, message: str, now: datetime, period: timedelta) -> Attempt:
    flow = flow.failed(message)
    tx.save_link_flow(link.id, flow)
    return Attempt(_view(link, flow, now, period), failure=message)


def _connect(tx: Pairing, link: LinkRecord, flow: Flow, now: datetime, period: timedelta, *,
             phone: str | None = None, reason: str = "(QR code scanned)") -> Attempt:
    account = connect_link(tx, link, now, phone=phone, reason=reason)
    return Attempt(_view(replace(link, status="used", closed_at=now), flow, now, period), account=account)


def _scan(tx: Pairing, link: LinkRecord, ref: str | None, now: datetime, period: timedelta) -> Attempt:
    """A scan of the link's QR code: with `ref` (what a rotating image encodes), only the image
    showing now matches; without, the link itself is scanned (the standalone page, the control API)."""
    flow = tx.link_flow(link.id)
    if ref is not None:
        qr, _timed_out = current_qr(flow, now, period)
        if qr is None or not secrets.compare_digest(qr.ref, ref):
            return _fail(tx, link, flow, QR_MISMATCH, now, period)
    cause = _take_failure(tx, link, SCAN)
    if cause is not None:
        return _fail(tx, link, flow, FAILURES[cause].message, now, period)
    return _connect(tx, link, flow, now, period)


def scan_token(tx: Pairing, token: str, ref: str | None, real_now: datetime, period: timedelta) -> Attempt:
    """A scan through the link's pages; LinkGone for a link that is no longer active."""
    link, now = _link(tx, token, real_now)
    _active(link, now)
    return _scan(tx, link, ref, now, period)


def _active_link_of(tx: Pairing, partner_id: str, workspace_id: str, user_id: int, now: datetime) -> LinkRecord:
    owned_user(tx, partner_id, workspace_id, user_id, active=False)
    active = next((link for link in tx.links(workspace_id, user_id, 1) if link.state(now) == "active"), None)
    if active is None:
        raise ApiError("no_active_link", f"User {user_id} has no active QR link to scan")
    return active


def scan_active_link(tx: Pairing, *, partner_id: str, workspace_id: str, user_id: int, now: datetime,
                     period: timedelta) -> Attempt:
    """The control API's scan of the user's active link."""
    return _scan(tx, _active_link_of(tx, partner_id, workspace_id, user_id, now), None, now, period)


def enter_pairing_code(tx: Pairing, *, partner_id: str, workspace_id: str, user_id: int, code: str,
                       now: datetime, period: timedelta) -> Attempt:
    """A phone entering a pairing code: the account connects with the number that asked for it."""
    link = _active_link_of(tx, partner_id, workspace_id, user_id, now)
    flow = tx.link_flow(link.id)
    if flow.pairing_code is None:
        raise ApiError("pairing_code_rejected", f"No pairing code was asked for on user {user_id}'s QR link")
    if flow.pairing_expires_at is None or now >= flow.pairing_expires_at:
        raise ApiError("pairing_code_rejected", f"The pairing code of user {user_id}'s QR link has expired")
    if not secrets.compare_digest(flow.pairing_code, code):
        raise ApiError("pairing_code_rejected", f"{code} is not the pairing code of user {user_id}'s QR link")
    cause = _take_failure(tx, link, CODE_ENTRY)
    if cause is not None:
        return _fail(tx, link, flow, FAILURES[cause].message, now, period)
    return _connect(tx, link, flow, now, period, phone=flow.pairing_phone, reason="(pairing code entered)")


def force_failure(tx: Pairing, *, partner_id: str, workspace_id: str, user_id: int, cause: str | None,
                  now: datetime) -> str | None:
    """Make the user's next step that `cause` can happen at fail with it (None: clear it)."""
    owned_user(tx, partner_id, workspace_id, user_id, active=False)
    tx.set_next_failure(workspace_id, user_id, cause)
    return cause
