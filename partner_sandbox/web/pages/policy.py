"""The pages' headers: a CSP allowing only their inline style and scripts (by hash), framing, no cache.

Framed by nobody, or in the embedded mode by the partner's embedding origins only."""

from __future__ import annotations

import base64
import hashlib

from ...domain import embedding
from ..guard import API_CSP
from .assets import COUNTDOWN_SCRIPT, DASHBOARD_SCRIPT, DASHBOARD_STYLE, EMBED_SCRIPT, STYLE


def sha256(text: str) -> str:
    """A CSP hash source for an inline element's text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _csp(scripts: tuple[str, ...], *, fetches: bool, frame_ancestors: str, style: str = STYLE,
         form_action: str = "'self'") -> str:
    """A page's policy: nothing but its own inline style and scripts (by hash) and data: images."""
    connect = " connect-src 'self';" if fetches else ""
    return (f"default-src 'none'; style-src {sha256(style)}; script-src {' '.join(map(sha256, scripts))};"
            f" img-src 'self' data:;{connect} form-action {form_action}; base-uri 'none'; {frame_ancestors}")


# A standalone page: the countdown script only, framed by nobody.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": _csp((COUNTDOWN_SCRIPT,), fetches=False, frame_ancestors="frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# The embedded page also runs the protocol script and fetches its flow; framing is the partner's
# origins (X-Frame-Options cannot name them, so it has none). All before frame-ancestors is made once.
_EMBEDDED_CSP = _csp((COUNTDOWN_SCRIPT, EMBED_SCRIPT), fetches=True, frame_ancestors="")
_EMBEDDED_HEADERS = {k: v for k, v in PAGE_HEADERS.items() if k not in ("X-Frame-Options", "Content-Security-Policy")}
# The flow's JSON, answers and errors alike: data, for the page's script only, under the API's policy.
FLOW_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": API_CSP[1].decode()}


def embedded_headers(origins: list[str]) -> dict[str, str]:
    """The embedded page's headers: framed only by the partner's embedding origins."""
    return {**_EMBEDDED_HEADERS, "Content-Security-Policy": _EMBEDDED_CSP + embedding.frame_ancestors(origins)}

# The dashboard: its own style and script, fetching the APIs of its own origin only; its forms are
# the script's (they post nowhere); framed by nobody.
DASHBOARD_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": _csp((DASHBOARD_SCRIPT,), fetches=True, frame_ancestors="frame-ancestors 'none'",
                                    style=DASHBOARD_STYLE, form_action="'none'"),
}
