"""PostgreSQL for several replicas: two sandbox processes on one database keep one active link per user."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers import QR_PATH, auth_headers, control


def test_two_replicas_share_one_active_link_per_user(pg_replicas):
    """The replicas started together on an empty database (conftest.pg_replicas): migrations and
    seeding took turns."""
    first, second = pg_replicas
    replicas = itertools.cycle([first.base_url, second.base_url])
    urls = [next(replicas) + QR_PATH.format(workspace="qa-workspace", user=77) for _ in range(40)]

    def call(target):
        with httpx.Client(timeout=30) as client:
            return client.post(target, headers=auth_headers())

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(call, urls))
    assert [r.status_code for r in responses] == [200] * 40, [r.text for r in responses if r.status_code != 200]
    bodies = [r.json() for r in responses]
    assert sum(1 for b in bodies if b["previous_qr_revoked"] is False) == 1
    assert len({b["qr_link"] for b in bodies}) == 40
    # each replica sees the other's work: one active link, 40 in the history
    for server in (first, second):
        state = control(server, "GET", "/workspaces/qa-workspace/users/77").json()
        assert [link["state"] for link in state["links"]].count("active") == 1 and len(state["links"]) == 40


def test_state_on_postgres_survives_restarts_and_the_world_is_seeded_once(postgres, start_sandbox):
    url = postgres.new_database()
    server = start_sandbox(db=url)
    assert server.issue("qa-connected", 1001).json()["whatsapp_disconnected"] is True
    server.kill9()
    server.start()
    again = server.issue("qa-connected", 1001).json()
    assert (again["whatsapp_disconnected"], again["previous_qr_revoked"]) == (False, True)
    server.restart("--reset")
    assert server.issue("qa-connected", 1001).json()["whatsapp_disconnected"] is True


def test_database_password_is_not_printed(postgres, start_sandbox):
    url = postgres.new_database().replace("postgres@", "postgres:s3cret-pass@")
    server = start_sandbox(db=url)  # trust authentication ignores the password
    assert server.issue("qa-workspace", 1).status_code == 200
    server.stop()
    assert "s3cret-pass" not in server.output()


def test_a_request_waiting_on_the_database_does_not_stall_the_event_loop(postgres, start_app):
    """On PostgreSQL the store's round trips are made off the event loop (offload.py): while one
    request waits on a lock in the database, the worker still answers others."""
    import psycopg

    url = postgres.new_database()
    app = start_app(db=url)
    other = app.client_from("127.0.0.1", 50001)
    with ThreadPoolExecutor(max_workers=1) as pool, psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE")
        waiting = pool.submit(app.client.get, "/partner/api/v1/workspaces/qa-workspace", headers=auth_headers())
        time.sleep(0.5)
        assert not waiting.done()  # it waits on the lock
        started = time.monotonic()
        assert other.get("/partner/api/v1/openapi.json").status_code == 200
        assert time.monotonic() - started < 2 and not waiting.done()
        holder.rollback()  # the lock is let go
        assert waiting.result(timeout=30).status_code == 200
