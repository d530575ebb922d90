"""The pages behind `qr_link`: the QR page, the scan confirmation page and the simulated scan."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .. import domain

STYLE = """
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}.qr svg{width:18rem;height:18rem}.state{font-weight:bold}
.active{color:#0a7d32}.gone{color:#b3261e}dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1rem}
dt{color:#555}button{font-size:1rem;padding:.5rem 1rem}
""".strip()

# Counts down from the seconds the server computed on the partner's (possibly test) clock.
SCRIPT = """
const el=document.getElementById('countdown');
if(el){const end=Date.now()+1000*Number(el.dataset.secondsLeft);
const tick=()=>{const s=Math.max(0,Math.round((end-Date.now())/1000));
const h=Math.floor(s/3600),m=Math.floor(s%3600/60),r=s%60;
el.textContent=s>0?`${h}h ${String(m).padStart(2,'0')}m ${String(r).padStart(2,'0')}s`:'expired';
if(s>0)setTimeout(tick,1000);};tick();}
""".strip()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (
    f"default-src 'none'; style-src {_sha256(STYLE)}; script-src {_sha256(SCRIPT)}; img-src 'self' data:;"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
GONE_REASONS = {
    "revoked": "This QR link was revoked: a newer link was issued for this user.",
    "expired": "This QR link has expired.",
    "used": "This QR link was already used: the WhatsApp account is connected.",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}<script>{SCRIPT}</script></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _details(link: domain.LinkRecord, state: str) -> str:
    css = "active" if state == "active" else "gone"
    return (
        "<dl>"
        f"<dt>Workspace</dt><dd id=workspace>{escape(link.workspace_id)}</dd>"
        f"<dt>User</dt><dd id=user>{link.user_id}</dd>"
        f"<dt>Expires at</dt><dd id=expires-at>{domain.rfc3339(link.expires_at)}</dd>"
        f"<dt>State</dt><dd id=state class='state {css}'>{state}</dd>"
        "</dl>"
    )


def _not_found() -> HTMLResponse:
    return _page("Unknown QR link", "<h1>Unknown QR link</h1><p>No QR link has this address.</p>", 404)


def _gone(link: domain.LinkRecord, state: str) -> HTMLResponse:
    return _page(
        "QR link no longer valid",
        f"<h1>QR link no longer valid</h1><p id=reason>{GONE_REASONS[state]}</p>{_details(link, state)}",
        410,
    )


def qr_svg(data: str) -> str:
    """A real, scannable QR code as inline SVG (segno)."""
    return segno.make_qr(data, error="m").svg_inline(scale=6, border=4, dark="#000", light="#fff")


def register(app, sandbox_of) -> None:
    """Add the page routes to a connexion app; `sandbox_of(request)` gives the app's services."""

    def live_page(render):
        """A page of an active link: 404 for an unknown token, 410 for a dead link, else render()."""

        async def endpoint(request: Request):
            token = request.path_params["token"]
            sandbox = sandbox_of(request)
            found = sandbox.link_page(token)
            if found is None:
                return _not_found()
            link, now = found
            state = link.state(now)
            if state != "active":
                return _gone(link, state)
            return render(sandbox, token, link, now)

        return endpoint

    def link_page(sandbox, token: str, link: domain.LinkRecord, now: datetime) -> HTMLResponse:
        seconds_left = int((link.expires_at - now).total_seconds())
        return _page(
            "Connect WhatsApp",
            "<h1>Connect WhatsApp</h1>"
            "<p>Scan this code to connect the user's WhatsApp account. In the sandbox it stands for"
            " WhatsApp's pairing code and encodes this link's scan confirmation page, so a phone on the"
            " same network can scan it too.</p>"
            f"<div class=qr id=qr>{qr_svg(sandbox.scan_url(token))}</div>"
            f"{_details(link, 'active')}"
            f"<p>Expires in <span id=countdown data-seconds-left={seconds_left}>{seconds_left}s</span></p>"
            # Relative, so the form works behind a proxy's path prefix too.
            f"<form method=post action='{escape(token)}/scan'>"
            "<button id=simulate-scan type=submit>Simulate scan</button></form>",
        )

    def confirm_page(sandbox, token: str, link: domain.LinkRecord, now: datetime) -> HTMLResponse:
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
            result = sandbox.scan_token(token)
        except domain.LinkGone as gone:
            return _gone(gone.link, gone.state)
        if result is None:
            return _not_found()
        link, account = result
        return _page(
            "WhatsApp connected",
            "<h1>WhatsApp connected</h1>"
            f"<p id=result>The account {escape(account.phone_number_e164)} is now connected for user"
            f" {link.user_id} of {escape(link.workspace_id)}. This QR link is now used.</p>",
        )

    app.add_url_rule("/qr/{token}", "qr_page", live_page(link_page), methods=["GET"])
    app.add_url_rule("/qr/{token}/scan", "qr_scan_confirm", live_page(confirm_page), methods=["GET"])
    app.add_url_rule("/qr/{token}/scan", "qr_scan", scan, methods=["POST"])
