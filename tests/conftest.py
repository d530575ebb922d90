"""Shared fixtures: sandboxes (real server processes, or the app in this process) and fresh users.

`tests` is a package: helpers are imported as `from tests.helpers import ...` (pytest puts the
repository's root on sys.path for the package's modules; nothing else is added)."""

from __future__ import annotations

import itertools

import pytest

from partner_sandbox.qa.postgres import PostgresCluster

from tests.helpers import DEFAULT_FIXTURES
from tests.servers import InProcessSandbox, SandboxProcess, replicas


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> InProcessSandbox:
    """The session's sandbox for API behaviour: the app in this process (tests/servers.py) on the test
    world (tests/fixtures/world.yaml), file database."""
    app = InProcessSandbox(tmp_path_factory.mktemp("sandbox"))
    yield app
    app.stop()


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory) -> SandboxProcess:
    """One server process for the session on the test world, file database, the default workers: for
    tests that need a real server (raw sockets, clients of their own, races across worker processes)."""
    server = SandboxProcess(tmp_path_factory.mktemp("sandbox-process")).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def fresh_user():
    """Each call returns a user of qa-workspace that no other test has touched (its ids are 1..303
    but for 42..44, which are my-first-workspace's: user ids are unique across workspaces)."""
    ids = (i for i in itertools.count(1) if i not in (42, 43, 44))
    return lambda: next(ids)


def _starter(make, stop):
    """`start(*args, **kwargs)`: a server made by `make`, kept to be stopped (`stop`) after the fixture."""
    started = []

    def start(*args, **kwargs):
        server = make(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server)


@pytest.fixture
def start_sandbox(tmp_path):
    """Start server processes of the test's own, each on its own database unless given one; stopped after."""
    def make(*args: str, wait: bool = True, **kwargs) -> SandboxProcess:
        return SandboxProcess(tmp_path, args=args, **kwargs).start(wait=wait)

    yield from _starter(make, SandboxProcess.close)


@pytest.fixture(scope="module")
def start_module_sandbox(tmp_path_factory):
    """Start server processes shared by the tests of one module (on the test world unless told); stopped after."""
    def make(*args: str, **kwargs) -> SandboxProcess:
        return SandboxProcess(tmp_path_factory.mktemp("module"), args=args, **kwargs).start()

    yield from _starter(make, SandboxProcess.close)


@pytest.fixture
def start_app(tmp_path_factory):
    """Start in-process sandboxes of the test's own (`serve`'s flags as arguments), each on an SQLite
    file of its own unless given a database; stopped after."""
    yield from _starter(lambda *args, **kwargs: InProcessSandbox(tmp_path_factory.mktemp("app"), *args, **kwargs),
                        InProcessSandbox.stop)


@pytest.fixture(scope="module")
def start_module_app(tmp_path_factory):
    """Start in-process sandboxes shared by the tests of one module; stopped after."""
    yield from _starter(lambda *args, **kwargs: InProcessSandbox(tmp_path_factory.mktemp("module-app"), *args,
                                                                 **kwargs), InProcessSandbox.stop)


@pytest.fixture
def app(start_app) -> InProcessSandbox:
    """An in-process sandbox of the test's own on the test world."""
    return start_app()


@pytest.fixture(scope="module")
def default_sandbox(start_module_app) -> InProcessSandbox:
    """An in-process sandbox on the shipped fixtures/default.yaml, fresh for the module."""
    return start_module_app(fixtures=DEFAULT_FIXTURES)


@pytest.fixture(scope="session")
def postgres() -> PostgresCluster:
    """A PostgreSQL cluster of the session's own; `postgres.new_database()` gives an empty database."""
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_replicas(postgres, tmp_path_factory) -> list[SandboxProcess]:
    """Two sandbox processes on one PostgreSQL database, as replicas of a hosted sandbox, started
    together (migrations and seeding take turns); tests on them use workspaces and users of their own."""
    with replicas(tmp_path_factory.mktemp("pg-replicas"), postgres.new_database()) as servers:
        yield servers


_INSTALL_BUILDS = pytest.StashKey[object]()


def pytest_collection_finish(session):
    """Start the install tests' builds and plain installs in the background when they will run."""
    if any(item.nodeid.startswith("tests/install/") for item in session.items):
        from tests.install.builds import Builds

        session.stash[_INSTALL_BUILDS] = Builds()


def pytest_sessionfinish(session):
    builds = session.stash.get(_INSTALL_BUILDS, None)
    if builds is not None:
        builds.close()


@pytest.fixture(scope="session")
def install_builds(request):
    """The sdist, the wheel and their plain installs, started when the session began (see above)."""
    builds = request.session.stash.get(_INSTALL_BUILDS, None)
    if builds is None:  # a run of a single install test, selected in a way collection did not see
        from tests.install.builds import Builds

        builds = request.session.stash[_INSTALL_BUILDS] = Builds()
    return builds
