"""`--rate-limit production` is the published allowance for the server as a whole: 30 requests a
second per client IP in bursts of up to 40, whichever worker process or replica a request reaches,
and whatever a client writes in forwarding headers unless the operator trusts the proxy it sent."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.servers import SandboxProcess

CAPACITY, RATE = 40, 30
PATH = "/partner/api/v1/workspaces/qa-workspace"  # no credentials: counted before authentication


def burst(send, count: int = 90) -> tuple[int, float]:
    """Send `count` requests as fast as one client can: how many were not 429, and in how long."""
    started = time.monotonic()
    passed = sum(send(i) != 429 for i in range(count))
    return passed, time.monotonic() - started


def assert_allowance(passed: int, elapsed: float) -> None:
    """The published allowance, give or take one refill of the bucket."""
    assert CAPACITY - 1 <= passed <= CAPACITY + RATE * elapsed + 1, (passed, elapsed)


def client(server: SandboxProcess, address: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    server = SandboxProcess(tmp_path_factory.mktemp("ratelimit"), args=("--rate-limit", "production", "--workers", "2",
                                                                          "--trusted-proxies", "127.0.0.50,127.0.1.0/24"))
    server.start()
    yield server
    server.stop()


def test_a_keep_alive_client_gets_the_allowance_across_two_workers(two_workers):
    with client(two_workers, "127.0.0.2") as kept_alive:
        assert_allowance(*burst(lambda i: kept_alive.get(PATH).status_code))


def test_a_client_opening_a_connection_per_request_gets_the_same(two_workers):
    def one_connection(_):
        with client(two_workers, "127.0.0.3") as fresh:
            return fresh.get(PATH, headers={"Connection": "close"}).status_code

    assert_allowance(*burst(one_connection))


def test_forwarding_headers_of_an_untrusted_peer_change_nothing(two_workers):
    with client(two_workers, "127.0.0.4") as spoofing:
        def send(i):
            headers = {"X-Forwarded-For": f"10.9.{i // 250}.{i % 250}", "Forwarded": f"for=10.8.0.{i % 250}"}
            return spoofing.get(PATH, headers=headers).status_code

        assert_allowance(*burst(send))


def test_a_trusted_proxy_names_the_client(two_workers):
    with client(two_workers, "127.0.0.50") as proxy:
        # Every request for another client: each has a bucket of its own, so none is limited.
        assert {proxy.get(PATH, headers={"X-Forwarded-For": f"203.0.113.7, 198.51.100.{i}"}).status_code
                for i in range(60)} == {401}
        # One client behind it, named by the nearest address not itself a trusted proxy
        # (127.0.1.9 is one: the network is trusted), the spoofable left-most entry ignored.
        def send(i):
            return proxy.get(PATH, headers={"X-Forwarded-For": f"10.0.0.{i % 250}, 192.0.2.1, 127.0.1.9"}).status_code

        assert_allowance(*burst(send))
    with client(two_workers, "127.0.1.20") as proxy:
        # RFC 7239's header, from a proxy of the trusted network: its own client's bucket.
        assert_allowance(*burst(lambda i: proxy.get(PATH, headers={"Forwarded": 'for="192.0.2.60:4711";proto=http'})
                                .status_code))


def test_two_replicas_on_one_postgresql_share_the_allowance(postgres, tmp_path):
    db = postgres.new_database()
    servers = [SandboxProcess(tmp_path, db=db, args=("--rate-limit", "production", "--workers", "1")) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        clients = [client(server, "127.0.0.5") for server in servers]
        assert_allowance(*burst(lambda i: clients[i % 2].get(PATH).status_code))
    finally:
        for server in servers:
            server.stop()


def test_trusted_proxies_that_are_not_addresses_stop_start_up(tmp_path):
    server = SandboxProcess(tmp_path, args=("--trusted-proxies", "127.0.0.1,proxy.example"))
    with pytest.raises(RuntimeError, match="'proxy.example' is not an IP address or network"):
        server.start()
