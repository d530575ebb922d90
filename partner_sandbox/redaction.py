"""What is never written down: link tokens (they travel in URLs, /qr/<token>), JWTs (API tokens and
webhook signatures), Public API tokens, a URL's user-info and query, and secret request headers.
One place, used by the access log, the request journal and every log record of the process,
third-party loggers included (install_log_redaction)."""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"
# Request headers the journal keeps only as REDACTED.
SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie", b"x-tl-signature",
                            b"x-api-key"})

_LINK_IN_TEXT = re.compile(r"/qr/+[^/?#\s\"'<>]+")
_TOKEN_FIELD = re.compile(r'("token"\s*:\s*")[^"]*(")')
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b((?:bearer|basic)\s+)[^\s\"',]+")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>]+@")
_QUERY = re.compile(r"(?i)\b(https?://[^\s?#\"'<>]+)\?[^\s#\"'<>]*")


def redact_link_tokens(text: str) -> str:
    """Link tokens travel in URLs (/qr/<token>, also /qr//<token>); wherever they are logged or kept, they are redacted."""
    return _LINK_IN_TEXT.sub("/qr/" + REDACTED, text)


def redact_secrets(text: str) -> str:
    """A query, a request body or a response body as the request journal keeps it: link tokens,
    Public API tokens, JWTs and bearer credentials redacted."""
    text = _JWT.sub(REDACTED, _BEARER.sub(r"\1" + REDACTED, text))
    return _TOKEN_FIELD.sub(r"\1" + REDACTED + r"\2", redact_link_tokens(text))


def redact_log_text(text: str) -> str:
    """A log line with every secret this module knows of redacted."""
    text = _QUERY.sub(r"\1?" + REDACTED, text)
    text = _USERINFO.sub(r"\1" + REDACTED + "@", text)
    return redact_secrets(text)


def install_log_redaction() -> None:
    """Every log record of the process is made through here, whoever logs it (our loggers,
    uvicorn's, httpx's): its message, with its arguments, and its traceback are redacted when it is
    made, before any handler or formatter sees it. Idempotent."""
    make = logging.getLogRecordFactory()
    if getattr(make, "redacting", False):
        return

    def redacting(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            record.msg, record.args = redact_log_text(record.getMessage()), ()
        except Exception:  # a record that cannot be formatted: the logging module reports it later
            return record
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_log_text(logging.Formatter().formatException(record.exc_info))
        return record

    redacting.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)
