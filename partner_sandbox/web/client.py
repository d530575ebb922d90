"""Who the client is, for the per-IP rate limit: the socket's peer, or what a trusted proxy says it
forwarded for."""

from __future__ import annotations

import ipaddress
import re

_FORWARDED_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def _address(text: str) -> str:
    """An address as a forwarding header writes it, without quotes, brackets or port."""
    text = text.strip().strip('"')
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text[1:]
    if text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has more colons
        return text.split(":")[0]
    return text


class ClientAddress:
    """Who the client is, for the per-IP limit. The socket's peer, unless the peer is one of the
    operator's trusted proxies (`--trusted-proxies`): then the nearest address in `Forwarded`
    (RFC 7239, `for=`) or else `X-Forwarded-For` that is not itself a trusted proxy. With no trusted
    proxy (the default) these headers count for nothing, so a client cannot pick its own key."""

    def __init__(self, trusted: str = ""):
        self.networks = [ipaddress.ip_network(part.strip(), strict=False) for part in trusted.split(",") if part.strip()]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, scope) -> str:
        peer = (scope.get("client") or ("unknown", 0))[0]
        if not self.networks or not self._trusted(peer):
            return peer
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"forwarded"]
        if forwarded:
            chain = [_address(m) for m in _FORWARDED_FOR.findall(",".join(forwarded))]
        else:
            chain = [_address(part) for k, v in scope["headers"] if k == b"x-forwarded-for"
                     for part in v.decode("latin-1").split(",")]
        for address in reversed([a for a in chain if a]):
            if not self._trusted(address):
                return address
        return peer
