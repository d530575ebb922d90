"""Who the client is for the per-IP rate limit: the peer, or what a trusted proxy forwarded for."""

from __future__ import annotations

import argparse

import pytest

from partner_sandbox.domain.ratelimit import refill
from partner_sandbox.settings import _trusted_proxies
from partner_sandbox.web.client import ClientAddress


def scope(peer: str, *headers: tuple[str, str]) -> dict:
    return {"client": (peer, 5000), "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}


@pytest.mark.parametrize("peer, headers, client", [
    ("198.51.100.1", [("X-Forwarded-For", "192.0.2.1")], "198.51.100.1"),  # not a trusted proxy
    ("10.0.0.1", [("X-Forwarded-For", "192.0.2.1")], "192.0.2.1"),
    ("10.0.0.1", [("X-Forwarded-For", "192.0.2.9, 192.0.2.1, 10.0.0.7")], "192.0.2.1"),  # nearest untrusted
    ("10.0.0.1", [("X-Forwarded-For", "192.0.2.9"), ("X-Forwarded-For", "192.0.2.1")], "192.0.2.1"),
    ("10.0.0.1", [("Forwarded", 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.3')], "2001:db8::1"),
    ("10.0.0.1", [("Forwarded", "For=192.0.2.43:80"), ("X-Forwarded-For", "192.0.2.1")], "192.0.2.43"),
    ("10.0.0.1", [], "10.0.0.1"),  # a trusted proxy's own request
    ("10.0.0.1", [("X-Forwarded-For", "10.0.0.2")], "10.0.0.1"),  # only proxies in the chain
    ("::1", [("X-Forwarded-For", "192.0.2.1")], "192.0.2.1"),
])
def test_the_client_is_the_nearest_address_that_is_not_a_trusted_proxy(peer, headers, client):
    assert ClientAddress("10.0.0.0/8, ::1")(scope(peer, *headers)) == client


def test_with_no_trusted_proxy_forwarding_headers_count_for_nothing():
    assert ClientAddress("")(scope("127.0.0.1", ("X-Forwarded-For", "192.0.2.1"), ("Forwarded", "for=1.2.3.4"))) == "127.0.0.1"


def test_a_trusted_proxy_that_is_not_an_address_is_refused():
    assert _trusted_proxies("10.0.0.0/8,::1") == "10.0.0.0/8,::1"
    with pytest.raises(argparse.ArgumentTypeError, match="'proxy' is not an IP address or network"):
        _trusted_proxies("10.0.0.1, proxy")


def test_a_bucket_refills_at_its_rate_up_to_its_capacity():
    assert refill(40.0, 0.0, 0.0, 30.0, 40.0) == (39.0, 0.0)
    assert refill(0.0, 0.0, 0.5, 30.0, 40.0) == (14.0, 0.0)
    assert refill(0.0, 0.0, 100.0, 30.0, 40.0) == (39.0, 0.0)  # never more than the capacity
    tokens, wait = refill(0.5, 0.0, 0.0, 30.0, 40.0)
    assert tokens == 0.5 and wait == pytest.approx(1 / 60)
