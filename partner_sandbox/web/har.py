"""The request journal as a HAR 1.2 log (the format browsers' developer tools and proxies read):
what the control API's exportRequests answers and the dashboard downloads. It holds only what the
journal holds, so its secrets are redacted the same way (Authorization, cookies, link tokens,
Public API tokens)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote

from .. import __version__


def har(entries: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    """A HAR log of journal entries (given newest first, as the journal reads them; HAR is oldest first)."""
    return {"log": {"version": "1.2", "creator": {"name": "partner-sandbox", "version": __version__},
                    "pages": [], "entries": [_entry(e, base_url) for e in reversed(entries)]}}


def _pairs(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def _mime(headers: dict[str, str], default: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), default)


def _entry(entry: dict[str, Any], base_url: str) -> dict[str, Any]:
    query = entry.get("query") or ""
    request_headers, response_headers = entry["request_headers"], entry.get("response_headers") or {}
    request: dict[str, Any] = {
        "method": entry["method"],
        "url": base_url + quote(entry["path"], safe="/:@!$&'()*+,;=~") + (f"?{query}" if query else ""),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(request_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": len((entry["request_body"] or "").encode()),
    }
    if entry["request_body"] is not None:
        request["postData"] = {"mimeType": _mime(request_headers, "application/octet-stream"),
                               "text": entry["request_body"]}
    body = entry["response_body"] or ""
    try:
        reason = HTTPStatus(entry["status"]).phrase
    except ValueError:
        reason = ""
    duration = float(entry.get("duration_ms") or 0)
    found: dict[str, Any] = {
        "startedDateTime": entry["time"],
        "time": duration,
        "request": request,
        "response": {
            "status": entry["status"],
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(response_headers),
            "content": {"size": len(body.encode()), "mimeType": _mime(response_headers, "application/json"),
                        "text": body},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(body.encode()),
        },
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
    }
    error = entry.get("error")
    if error and error.get("explanation"):
        found["comment"] = f"{error['code']}: {error['explanation']}"
    return found
