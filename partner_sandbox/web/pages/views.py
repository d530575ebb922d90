"""The pages as responses: each page from its template, with its status and its headers."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup
from starlette.responses import HTMLResponse

from ...domain.model import LinkRecord, WhatsAppAccount
from ...services.sandbox import LinkPage
from .policy import DASHBOARD_HEADERS, PAGE_HEADERS, embedded_headers
from .qrcodes import qr_svg
from .templating import render

POLL_MS = 500  # how often the embedded page asks how its flow stands


def _page(template: str, status: int = 200, *, embedded_in: list[str] | None = None, **context) -> HTMLResponse:
    """A page; `embedded_in` (the partner's embedding origins) makes it the embedded mode's."""
    html = render(template, embedded=embedded_in is not None, **context)
    headers = PAGE_HEADERS if embedded_in is None else embedded_headers(embedded_in)
    return HTMLResponse(html, status_code=status, headers=headers)


def _seconds_left(link: LinkRecord, now: datetime) -> int:
    return int((link.expires_at - now).total_seconds())


def link_page(found: LinkPage, token: str, scan_url: str) -> HTMLResponse:
    """The standalone page of an active link: its QR code encodes the scan confirmation page."""
    return _page("link.html", link=found.link, token=token, qr_svg=Markup(qr_svg(scan_url)),
                 seconds_left=_seconds_left(found.link, found.now))


def embedded_page(found: LinkPage) -> HTMLResponse:
    """The default UI inside the partner's iframe; its script speaks the postMessage protocol."""
    return _page("embedded.html", embedded_in=found.embedding_origins, link=found.link,
                 origins=found.embedding_origins, poll_ms=POLL_MS, error_seq=found.error_seq,
                 seconds_left=_seconds_left(found.link, found.now))


def confirm_page(link: LinkRecord) -> HTMLResponse:
    return _page("confirm.html", link=link)


def connected_page(link: LinkRecord, account: WhatsAppAccount) -> HTMLResponse:
    return _page("connected.html", link=link, account=account)


def failed_page(link: LinkRecord, message: str) -> HTMLResponse:
    return _page("failed.html", 409, link=link, message=message)


def gone_page(link: LinkRecord, state: str, embedded_in: list[str] | None = None) -> HTMLResponse:
    """410 for a revoked, expired or used link; in the embedded mode, framed like the embedded page."""
    return _page("gone.html", 410, embedded_in=embedded_in, link=link, state=state)


def not_found_page() -> HTMLResponse:
    return _page("not_found.html", 404)


def dashboard_page() -> HTMLResponse:
    """The dashboard at /: the same for everyone (its script signs in and reads the APIs)."""
    return HTMLResponse(_DASHBOARD, headers=DASHBOARD_HEADERS)


_DASHBOARD = render("dashboard.html")
