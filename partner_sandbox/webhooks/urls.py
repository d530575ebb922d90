"""What a webhook URL may be: checked when a partner sets one, and again before each attempt."""

from __future__ import annotations

import httpx

from .. import ecma
from ..domain.embedding import PORT

MAX_URL = 2048

_IPV4_PART = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# What a webhook URL may be (sandbox.yaml's PUT /webhook has the same pattern): http(s), optional
# user-info, a host name whose first label has a letter or a dash (a name of digits and dots alone
# is read as an IPv4 address) or an IPv4 address, a port of 0..65535, then any visible ASCII.
# IPv6 literals are not accepted (as for embedding origins).
URL_PATTERN = (rf"^https?://([A-Za-z0-9._~!$&'()*+,;=:%-]*@)?([A-Za-z0-9-]*[A-Za-z-][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)*"
               rf"|({_IPV4_PART}\.){{3}}{_IPV4_PART})(:0*{PORT})?([/?#][!-~]*)?$")
_URL = ecma.compile(URL_PATTERN)


def url_problem(url: str) -> str | None:
    """Why a webhook URL cannot be delivered to, or None. The spec refuses these when a URL is set;
    checked again before each attempt (a URL stored before this rule existed)."""
    if len(url) > MAX_URL:
        return f"the URL is longer than {MAX_URL} characters"
    if not _URL.search(url):
        return ("the URL is not http(s)://[user@]host[:port][/path] with a host name or an IPv4 address"
                " and a port of 0..65535, in visible ASCII")
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:  # kept in step with the pattern by the tests
        return f"the URL cannot be used: {exc}"
    return None
