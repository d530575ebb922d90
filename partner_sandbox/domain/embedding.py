"""Embedding origins: the pages of a partner's own application that may frame its QR links and talk
to them with postMessage. An origin is matched exactly as a browser serializes it (`event.origin`:
`scheme://host[:port]`, lower-case, no default port, no path); one written otherwise (upper case,
the default port) is kept in that form."""

from __future__ import annotations

from .. import ecma
from ..errors import ApiError

MAX_ORIGINS = 20
DEFAULT_PORTS = {"http": "80", "https": "443"}
# What an origin may look like (sandbox.yaml's EmbeddingOrigins has the same pattern): an http(s)
# scheme, a host name or IPv4 address, an optional port of 0..65535, nothing after.
PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
ORIGIN_PATTERN = rf"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:0*{PORT})?$"
_ORIGIN = ecma.compile(ORIGIN_PATTERN)


def canonical_origin(text: str) -> str | None:
    """The origin as a browser writes it, or None when `text` is no origin."""
    if not _ORIGIN.match(text):
        return None
    scheme, _, rest = text.partition("://")
    host, _, port = rest.partition(":")
    port = port.lstrip("0") or ("0" if port else "")
    keep_port = port and port != DEFAULT_PORTS[scheme]
    return f"{scheme}://{host.lower()}" + (f":{port}" if keep_port else "")


def checked_origins(origins: list[str]) -> list[str]:
    """The origins in their browser form, in order, each once; anything else is 400 naming it."""
    kept: list[str] = []
    for index, origin in enumerate(origins):
        canonical = canonical_origin(origin)
        if canonical is None:
            raise ApiError("invalid_request", f"origins[{index}]: {origin!r} is not an origin"
                                              " (http or https://host[:port], with no path)")
        if canonical not in kept:
            kept.append(canonical)
    return kept


def frame_ancestors(origins: list[str]) -> str:
    """The CSP directive that lets exactly these origins frame a page (none, when there are none)."""
    return "frame-ancestors " + (" ".join(origins) if origins else "'none'")
