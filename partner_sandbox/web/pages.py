"""The pages behind `qr_link`: the standalone QR page, the embedded page (`display_mode=embedding`)
with the pairing flow it drives (`<link>/flow`, JSON), the scan confirmation page and the scan."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
from datetime import datetime
from html import escape
from pathlib import Path

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..domain import embedding, pairing
from ..domain.clock import rfc3339
from ..domain.links import LinkGone
from ..domain.model import LinkRecord
from ..errors import ApiError
from . import errors
from .guard import API_CSP
from .validation import json_object

# The pages' inline style and scripts are files (pages/assets/), inlined and allowed by hash.
ASSETS = Path(__file__).resolve().parent / "pages" / "assets"


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8").strip()


STYLE = _asset("page.css")

# Counts down from the seconds the server computed on the partner's (possibly test) clock.
SCRIPT = _asset("countdown.js")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The embedded page's protocol script (see the file), inline by hash as the other.
EMBED_SCRIPT = _asset("embed.js")
POLL_MS = 500  # how often the embedded page asks how its flow stands



def _csp(scripts: tuple[str, ...], *, fetches: bool, frame_ancestors: str) -> str:
    """A page's policy: nothing but its own inline style and scripts (by hash) and data: images."""
    connect = " connect-src 'self';" if fetches else ""
    return (f"default-src 'none'; style-src {_sha256(STYLE)}; script-src {' '.join(map(_sha256, scripts))};"
            f" img-src 'self' data:;{connect} form-action 'self'; base-uri 'none'; {frame_ancestors}")


CSP = _csp((SCRIPT,), fetches=False, frame_ancestors="frame-ancestors 'none'")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# The embedded page also fetches its flow; framing is the partner's origins (X-Frame-Options cannot
# name them, so it has none). Everything before frame-ancestors is made once, here.
_EMBEDDED_CSP = _csp((SCRIPT, EMBED_SCRIPT), fetches=True, frame_ancestors="")
_EMBEDDED_HEADERS = {k: v for k, v in PAGE_HEADERS.items() if k not in ("X-Frame-Options", "Content-Security-Policy")}
# The flow's JSON: data, for the page's script only, under the API's policy.
FLOW_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": API_CSP[1].decode()}


def embedded_headers(origins: list[str]) -> dict[str, str]:
    """The embedded page's headers: framed only by the partner's embedding origins."""
    return {**_EMBEDDED_HEADERS, "Content-Security-Policy": _EMBEDDED_CSP + embedding.frame_ancestors(origins)}


GONE_REASONS = {
    "revoked": "This QR link was revoked: a newer link was issued for this user.",
    "expired": "This QR link has expired.",
    "used": "This QR link was already used: the WhatsApp account is connected.",
}


def _page(title: str, body: str, status: int = 200, *, embedded_in: list[str] | None = None) -> HTMLResponse:
    """A page; `embedded_in` (the partner's embedding origins) makes it the embedded mode's."""
    scripts = f"<script>{SCRIPT}</script>" + (f"<script>{EMBED_SCRIPT}</script>" if embedded_in is not None else "")
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}{scripts}</body></html>"
    )
    headers = PAGE_HEADERS if embedded_in is None else embedded_headers(embedded_in)
    return HTMLResponse(html, status_code=status, headers=headers)


def _details(link: LinkRecord, state: str) -> str:
    css = "active" if state == "active" else "gone"
    return (
        "<dl>"
        f"<dt>Workspace</dt><dd id=workspace>{escape(link.workspace_id)}</dd>"
        f"<dt>User</dt><dd id=user>{link.user_id}</dd>"
        f"<dt>Expires at</dt><dd id=expires-at>{rfc3339(link.expires_at)}</dd>"
        f"<dt>State</dt><dd id=state class='state {css}'>{state}</dd>"
        "</dl>"
    )


def _not_found() -> HTMLResponse:
    return _page("Unknown QR link", "<h1>Unknown QR link</h1><p>No QR link has this address.</p>", 404)


def _gone(link: LinkRecord, state: str, embedded_in: list[str] | None = None) -> HTMLResponse:
    return _page(
        "QR link no longer valid",
        f"<h1>QR link no longer valid</h1><p id=reason>{GONE_REASONS[state]}</p>{_details(link, state)}",
        410,
        embedded_in=embedded_in,
    )


def qr_svg(data: str) -> str:
    """A real, scannable QR code as inline SVG (segno)."""
    return segno.make_qr(data, error="m").svg_inline(scale=6, border=4, dark="#000", light="#fff")


@functools.lru_cache(maxsize=256)  # the page asks twice a second; an image is the same until it rotates
def qr_data_url(data: str) -> str:
    """A real QR code as the protocol sends it: an SVG document (quiet zone and scale included) in a
    `data:image/svg+xml;base64,` URL, ready for an <img>."""
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def flow_json(view: pairing.FlowView, scan_url: str) -> dict:
    """The flow as the embedded page's script reads it."""
    flow, now = view.flow, view.now
    out = {
        "link": view.state,
        "error": {"id": flow.error_seq, "message": flow.error} if flow.error else None,
        "qr": None,
        "pairing": None,
    }
    if view.qr is not None:
        out["qr"] = {
            "rotation": view.qr.rotation,
            "ref": view.qr.ref,
            "image": qr_data_url(f"{scan_url}?qr={view.qr.ref}"),
            "rotates_in_ms": max(0, int((view.qr.rotates_at - now).total_seconds() * 1000)),
        }
    elif view.qr_timed_out:
        out["qr"] = {"timed_out": True}
    if view.state == "active" and flow.pairing_code is not None:
        out["pairing"] = {
            "code": flow.pairing_code,
            "phone": flow.pairing_phone,
            "expires_in_ms": max(0, int((flow.pairing_expires_at - now).total_seconds() * 1000)),
        }
    return out


def _api_error(error: ApiError) -> Response:
    return errors.response(error, FLOW_HEADERS)


def _failed(link: LinkRecord, message: str) -> HTMLResponse:
    return _page(
        "Connecting failed",
        f"<h1>Connecting WhatsApp failed</h1><p id=reason>{escape(message)}</p>{_details(link, 'active')}",
        409,
    )


def register(app, sandbox_of) -> None:
    """Add the page routes to a connexion app; `sandbox_of(request)` gives the app's services."""

    def live_page(render, *, embeddable: bool = False):
        """A page of an active link: 404 for an unknown token, 410 for a dead link, else render().
        With `embeddable`, `?display_mode=embedding` serves the embedded mode (framable by the
        partner's embedding origins)."""

        async def endpoint(request: Request):
            token = request.path_params["token"]
            sandbox = sandbox_of(request)
            found = sandbox.link_page(token)
            if found is None:
                return _not_found()
            link, now = found.link, found.now
            embedded = embeddable and request.query_params.get("display_mode") == "embedding"
            embedded_in = found.embedding_origins if embedded else None
            state = link.state(now)
            if state != "active":
                return _gone(link, state, embedded_in)
            if embedded:
                return embedded_page(found)
            return render(sandbox, token, link, now)

        return endpoint

    def countdown(link: LinkRecord, now: datetime) -> str:
        seconds_left = int((link.expires_at - now).total_seconds())
        return f"<p>Expires in <span id=countdown data-seconds-left={seconds_left}>{seconds_left}s</span></p>"

    def link_page(sandbox, token: str, link: LinkRecord, now: datetime) -> HTMLResponse:
        return _page(
            "Connect WhatsApp",
            "<h1>Connect WhatsApp</h1>"
            "<p>Scan this code to connect the user's WhatsApp account. In the sandbox it stands for"
            " WhatsApp's pairing code and encodes this link's scan confirmation page, so a phone on the"
            " same network can scan it too.</p>"
            f"<div class=qr id=qr>{qr_svg(sandbox.scan_url(token))}</div>"
            f"{_details(link, 'active')}{countdown(link, now)}"
            # Relative, so the form works behind a proxy's path prefix too.
            f"<form method=post action='{escape(token)}/scan'>"
            "<button id=simulate-scan type=submit>Simulate scan</button></form>",
        )

    def embedded_page(found) -> HTMLResponse:
        """The default UI inside the partner's iframe; its script speaks the postMessage protocol."""
        link, now, origins = found.link, found.now, found.embedding_origins
        return _page(
            "Connect WhatsApp",
            f"<main id=embed data-origins='{escape(json.dumps(origins))}' data-poll-ms={POLL_MS}"
            f" data-error-seq={found.error_seq}>"
            "<h1>Connect WhatsApp</h1>"
            "<section id=qr-flow><button id=start-qr type=button>Generate QR Code</button>"
            "<figure id=qr-figure hidden><img id=qr-image alt='WhatsApp QR code'>"
            "<figcaption>A new code in <span id=qr-rotates-in></span></figcaption></figure>"
            "<button id=simulate-scan type=button hidden>Simulate scan</button></section>"
            "<section id=phone-flow><label for=phone>Or link with a phone number:</label> "
            "<input id=phone type=tel placeholder=+31612345678 autocomplete=tel> "
            "<button id=request-code type=button>Get pairing code</button>"
            "<p id=pairing hidden>Enter <strong id=pairing-code></strong> on the phone"
            " <span id=pairing-phone></span> (WhatsApp, Linked devices, Link with phone number).</p></section>"
            "<p id=message role=status></p>"
            f"{_details(link, 'active')}{countdown(link, now)}</main>",
            embedded_in=origins,
        )

    def confirm_page(sandbox, token: str, link: LinkRecord, now: datetime) -> HTMLResponse:
        # No action: the form posts to this URL, with the `qr` reference of the image scanned.
        return _page(
            "Confirm scan",
            "<h1>Connect this WhatsApp account?</h1>"
            f"{_details(link, 'active')}"
            "<form method=post><button id=simulate-scan type=submit>Simulate scan</button></form>",
        )

    async def scan(request: Request):
        token = request.path_params["token"]
        sandbox = sandbox_of(request)
        try:
            attempt = sandbox.scan_token(token, request.query_params.get("qr"))
        except LinkGone as gone:
            return _gone(gone.link, gone.state)
        except ApiError:
            return _not_found()
        link = attempt.view.link
        if attempt.failure is not None:
            return _failed(link, attempt.failure)
        return _page(
            "WhatsApp connected",
            "<h1>WhatsApp connected</h1>"
            f"<p id=result>The account {escape(attempt.account.phone_number_e164)} is now connected for user"
            f" {link.user_id} of {escape(link.workspace_id)}. This QR link is now used.</p>",
        )

    def flow_endpoint(action):
        """A JSON endpoint of the embedded page's flow: the flow after `action`, or the error envelope."""

        async def endpoint(request: Request):
            token = request.path_params["token"]
            sandbox = sandbox_of(request)
            try:
                body = await _json_object(request) if request.method == "POST" else {}
                view = action(sandbox, token, body)
            except LinkGone as gone:
                return _api_error(ApiError("no_active_link", f"This QR link is {gone.state}"))
            except ApiError as error:
                return _api_error(error)
            return JSONResponse(flow_json(view, sandbox.scan_url(token)), headers=FLOW_HEADERS)

        return endpoint

    def scanned(sandbox, token: str, body: dict) -> pairing.FlowView:
        return sandbox.scan_token(token, _string(body, "qr")).view

    app.add_url_rule("/qr/{token}", "qr_page", live_page(link_page, embeddable=True), methods=["GET"])
    app.add_url_rule("/qr/{token}/scan", "qr_scan_confirm", live_page(confirm_page), methods=["GET"])
    app.add_url_rule("/qr/{token}/scan", "qr_scan", scan, methods=["POST"])
    app.add_url_rule("/qr/{token}/flow", "qr_flow",
                     flow_endpoint(lambda sandbox, token, _: sandbox.link_flow(token)), methods=["GET"])
    app.add_url_rule("/qr/{token}/flow/qr", "qr_flow_start",
                     flow_endpoint(lambda sandbox, token, _: sandbox.start_qr(token)), methods=["POST"])
    app.add_url_rule("/qr/{token}/flow/phone", "qr_flow_phone", flow_endpoint(
        lambda sandbox, token, body: sandbox.request_pairing_code(token, _string(body, "phone"))), methods=["POST"])
    app.add_url_rule("/qr/{token}/flow/scan", "qr_flow_scan", flow_endpoint(scanned), methods=["POST"])


async def _json_object(request: Request) -> dict:
    """The body of a flow endpoint: JSON, as the page's script sends it (a body of another type, a
    form or text/plain, is what a page of another site could send without asking: 415)."""
    media = request.headers.get("content-type")
    raw = await request.body()
    if (media is not None or raw) and (media or "").split(";")[0].strip() != "application/json":
        raise ApiError("unsupported_media_type", f"Content-Type '{media or ''}' is not supported; send application/json")
    return json_object(raw)


def _string(body: dict, name: str) -> str:
    if not isinstance(body.get(name), str):
        raise ApiError("invalid_request", f"{name}: a string is required")
    return body[name]
