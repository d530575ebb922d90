"""Shared fixtures: sandbox server processes over HTTP, and a supply of fresh users.

`tests` is a package: helpers are imported as `from tests.helpers import ...` (pytest puts the
repository's root on sys.path for the package's modules; nothing else is added)."""

from __future__ import annotations

import itertools

import pytest

from tests.helpers import DEFAULT_FIXTURES
from tests.servers import PostgresCluster, SandboxProcess


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> SandboxProcess:
    """One server process for the session on the test world (tests/fixtures/world.yaml), file database."""
    server = SandboxProcess(tmp_path_factory.mktemp("sandbox")).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def fresh_user():
    """Each call returns a user of qa-workspace that no other test has touched (its ids are 1..303
    but for 42..44, which are my-first-workspace's: user ids are unique across workspaces)."""
    ids = (i for i in itertools.count(1) if i not in (42, 43, 44))
    return lambda: next(ids)


@pytest.fixture
def start_sandbox(tmp_path):
    """Start server processes of the test's own, each on its own database unless given one; stopped after."""
    servers: list[SandboxProcess] = []

    def start(*args: str, wait: bool = True, **kwargs) -> SandboxProcess:
        server = SandboxProcess(tmp_path, args=args, **kwargs)
        servers.append(server)
        return server.start(wait=wait)

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def start_module_sandbox(tmp_path_factory):
    """Start server processes shared by the tests of one module (on the test world unless told); stopped after."""
    servers: list[SandboxProcess] = []

    def start(*args: str, **kwargs) -> SandboxProcess:
        server = SandboxProcess(tmp_path_factory.mktemp("module"), args=args, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def default_sandbox(tmp_path_factory) -> SandboxProcess:
    """A server on the shipped fixtures/default.yaml, fresh for the module."""
    server = SandboxProcess(tmp_path_factory.mktemp("default"), fixtures=DEFAULT_FIXTURES).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres() -> PostgresCluster:
    """A PostgreSQL cluster of the session's own; `postgres.new_database()` gives an empty database."""
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()
