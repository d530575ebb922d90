"""Embedding origins: the pages of a partner's own application that may frame its QR links and talk
to them with postMessage. An origin is matched exactly, as a browser serializes it
(`scheme://host[:port]`, lower-case, no default port, no path), so only that form is accepted."""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import ApiError

MAX_ORIGINS = 20
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_origin(text: str) -> str | None:
    """The origin as a browser writes it (`event.origin`), or None when `text` is no origin."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None \
            or parts.password is not None or parts.path or parts.query or parts.fragment or text.endswith(("?", "#")):
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != DEFAULT_PORTS[parts.scheme] else "")


def checked_origins(origins: list[str]) -> list[str]:
    """The origins as given, each in its exact browser form; anything else is 400 naming it."""
    for index, origin in enumerate(origins):
        canonical = canonical_origin(origin)
        if canonical is None:
            raise ApiError("invalid_request", f"origins[{index}]: {origin!r} is not an origin"
                                              " (scheme://host[:port], with no path)")
        if canonical != origin:
            raise ApiError("invalid_request", f"origins[{index}]: {origin!r} is matched exactly as a browser writes"
                                              f" it; write {canonical!r}")
    if len(set(origins)) != len(origins):
        raise ApiError("invalid_request", "origins: an origin is listed twice")
    return list(origins)


def frame_ancestors(origins: list[str]) -> str:
    """The CSP directive that lets exactly these origins frame a page (none, when there are none)."""
    return "frame-ancestors " + (" ".join(origins) if origins else "'none'")
