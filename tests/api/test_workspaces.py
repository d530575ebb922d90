"""Workspaces and users over HTTP: the guide's integration flow, creation, seats, downgrades, renames,
the billing period, and the same rules for every operation."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import assert_error, auth_headers, control

API = "/partner/api/v1/workspaces"
_names = itertools.count(1)


def name(prefix: str = "Ws") -> str:
    """A display name no other test uses."""
    return f"{prefix}-{next(_names)}-Test"


def create(server, display_name, seats=3, partner="sandbox-partner"):
    return server.client.post(API, headers=auth_headers(partner), json={"display_name": display_name,
                                                                        "seats_purchased": seats})


def details(server, workspace, partner="sandbox-partner"):
    return server.client.get(f"{API}/{workspace}", headers=auth_headers(partner))


def add_users(server, workspace, count, partner="sandbox-partner"):
    return server.client.post(f"{API}/{workspace}/users", headers=auth_headers(partner), json={"count": count})


def patch(server, workspace, partner="sandbox-partner", **body):
    return server.client.patch(f"{API}/{workspace}", headers=auth_headers(partner), json=body)


def test_the_guides_integration_flow_end_to_end(sandbox):
    created = create(sandbox, "Guide-Flow-Shop", seats=3)
    assert created.status_code == 201 and created.headers["x-tl-api-version"] == "v1", created.text
    ws = created.json()
    assert ws["workspace_id"] == "guide-flow-shop" and (ws["seats_total"], ws["seats_available"]) == (3, 2)

    users = add_users(sandbox, ws["workspace_id"], 2)
    assert users.status_code == 201, users.text
    first, second = [u["user_id"] for u in users.json()["users"]]
    links = {u: sandbox.issue(ws["workspace_id"], u).json()["qr_link"] for u in (first, second)}
    control(sandbox, "POST", f"/workspaces/{ws['workspace_id']}/users/{first}/scan")

    state = details(sandbox, ws["workspace_id"])
    assert state.status_code == 200 and state.headers["cache-control"] == "no-store"
    body = state.json()
    assert body["seats"] == {"total": 3, "used": 3}
    assert [(a["user_id"], a["connected"], a["connection_status"]) for a in body["whatsapp_accounts"]] == [
        (first, True, "connected")]
    assert body["qr_links"] == [{"qr_link": links[second], "user_id": second,
                                 "expires_at": body["qr_links"][0]["expires_at"]}]  # the other link, still active

    done = sandbox.client.post(f"{API}/{ws['workspace_id']}/users/{first}/whatsapp/disconnect", headers=auth_headers())
    assert done.json()["disconnected"] is True
    after = details(sandbox, ws["workspace_id"]).json()
    assert after["whatsapp_accounts"][0]["connected"] is False
    assert after["whatsapp_accounts"][0]["connection_status"] == "disconnected"

    token = sandbox.client.get(f"{API}/{ws['workspace_id']}/api-token", headers=auth_headers()).json()["token"]
    rotated = sandbox.client.post(f"{API}/{ws['workspace_id']}/api-token", headers=auth_headers()).json()["token"]
    assert token != rotated


def test_creation_answers_the_workspace_and_makes_its_owner(sandbox):
    display = name("Mixed-CASE-Name-That-Is-Longer-Than-Thirty")
    ws = create(sandbox, display, seats=5).json()
    assert ws["workspace_id"] == display.lower()[:30] and ws["display_name"] == display
    assert (ws["plan_id"], ws["seats_total"], ws["seats_available"], ws["suspended_members"]) == (1, 5, 4, [])
    assert ws["created_at"] == ws["updated_at"] and isinstance(ws["group_id"], int)
    owner = ws["owner_user_id"]
    users = details(sandbox, ws["workspace_id"]).json()["users"]
    assert users == [{"user_id": owner, "display_name": f"Owner {owner}", "role": "owner", "status": "active",
                      "email": f"{owner}-{ws['workspace_id']}@partners.timelines.ai", "created_at": ws["created_at"]}]
    other = create(sandbox, name(), seats=1).json()
    assert other["seats_available"] == 0 and other["group_id"] != ws["group_id"] and other["owner_user_id"] > owner


def test_a_duplicate_id_is_409_and_nothing_is_written(sandbox):
    display = name("Dup")
    first = create(sandbox, display, seats=2).json()
    again = create(sandbox, display.upper(), seats=9)  # another name, the same derived id
    assert "exists" in assert_error(again, 409, "workspace_creation_failed")["description"]
    assert_error(create(sandbox, display, partner="other-partner"), 409, "workspace_creation_failed")
    assert_error(create(sandbox, "my-first-workspace"), 409, "workspace_creation_failed")  # a fixture's id
    state = details(sandbox, first["workspace_id"]).json()
    assert state["display_name"] == display and state["seats"] == {"total": 2, "used": 1}


@pytest.mark.parametrize("body", [
    {"display_name": "has space", "seats_purchased": 1},
    {"display_name": "under_score", "seats_purchased": 1},
    {"display_name": "", "seats_purchased": 1},
    {"display_name": "x" * 101, "seats_purchased": 1},
    {"display_name": "ok-name", "seats_purchased": 0},
    {"display_name": "ok-name", "seats_purchased": 1000},
    {"display_name": "ok-name"},
    {"seats_purchased": 3},
])
def test_bad_creation_bodies_are_400_and_create_nothing(sandbox, body):
    r = sandbox.client.post(API, headers=auth_headers(), json=body)
    assert_error(r, 400, "invalid_request")
    assert_error(details(sandbox, "ok-name"), 404, "workspace_not_found")


def test_users_are_created_all_or_nothing(sandbox):
    ws = create(sandbox, name(), seats=4).json()["workspace_id"]
    full = add_users(sandbox, ws, 4)
    assert "3 of 4 seat(s) free" in assert_error(full, 409, "seats_full")["description"]
    assert len(details(sandbox, ws).json()["users"]) == 1  # nothing created
    made = add_users(sandbox, ws, 3).json()
    assert (made["workspace_id"], made["seats_total"], made["seats_available"]) == (ws, 4, 0)
    ids = [u["user_id"] for u in made["users"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(u["role"] == "agent" and u["status"] == "active" and u["email"] == f"{u['user_id']}-{ws}@partners.timelines.ai"
               for u in made["users"])
    assert_error(add_users(sandbox, ws, 1), 409, "seats_full")
    for bad in (0, 100, "2", None):
        assert_error(add_users(sandbox, ws, bad), 400, "invalid_request")


def test_twenty_parallel_calls_for_five_free_seats_create_exactly_five(sandbox_process):
    """Over connections of their own, across the server's worker processes."""
    sandbox = sandbox_process
    ws = create(sandbox, name(), seats=6).json()["workspace_id"]

    def one(_):
        with httpx.Client(base_url=sandbox.base_url, timeout=30) as client:
            return client.post(f"{API}/{ws}/users", headers=auth_headers(), json={"count": 1})

    with ThreadPoolExecutor(20) as pool:
        statuses = [r.status_code for r in pool.map(one, range(20))]
    assert sorted(statuses) == [201] * 5 + [409] * 15
    state = details(sandbox, ws).json()
    assert len(state["users"]) == 6 and state["seats"] == {"total": 6, "used": 6}


def test_a_downgrade_suspends_the_newest_agents_never_the_owner(sandbox):
    ws = create(sandbox, name(), seats=4).json()
    wid = ws["workspace_id"]
    older, newer, newest = [u["user_id"] for u in add_users(sandbox, wid, 3).json()["users"]]
    sandbox.issue(wid, newer)
    account = control(sandbox, "POST", f"/workspaces/{wid}/users/{newer}/scan").json()["whatsapp"]
    link = sandbox.issue(wid, newest).json()["qr_link"]

    down = patch(sandbox, wid, seats_purchased=2)
    assert down.status_code == 200, down.text
    body = down.json()
    assert (body["seats_total"], body["seats_available"], body["workspace_id"]) == (2, 0, wid)
    assert body["suspended_members"] == [
        {"user_id": newest, "phone_numbers": []},
        {"user_id": newer, "whatsapp_account_id": account["account_id"], "phone_numbers": [account["phone_number_e164"]]},
    ]
    assert_error(sandbox.issue(wid, newer), 403, "user_not_active")
    state = details(sandbox, wid).json()
    statuses = {u["user_id"]: u["status"] for u in state["users"]}
    assert statuses == {ws["owner_user_id"]: "active", older: "active", newer: "suspended", newest: "suspended"}
    assert state["seats"] == {"total": 2, "used": 2}
    assert [a["connected"] for a in state["whatsapp_accounts"]] == [False]  # disconnected with the suspension
    assert state["qr_links"] == []  # the newest agent's link was revoked
    assert sandbox.client.get(link.replace(sandbox.base_url, "")).status_code == 410

    # down to one seat: the last agent goes, the owner stays; raising seats brings nobody back
    assert [m["user_id"] for m in patch(sandbox, wid, seats_purchased=1).json()["suspended_members"]] == [older]
    back = patch(sandbox, wid, seats_purchased=10).json()
    assert back["suspended_members"] == [] and back["seats_available"] == 9


def test_renaming_keeps_the_id_and_a_partial_update_changes_only_what_is_sent(sandbox):
    wid = create(sandbox, name("Before"), seats=3).json()["workspace_id"]
    renamed = patch(sandbox, wid, display_name="After-Rename").json()
    assert (renamed["workspace_id"], renamed["display_name"], renamed["seats_total"]) == (wid, "After-Rename", 3)
    assert details(sandbox, wid).json()["display_name"] == "After-Rename"
    assert_error(details(sandbox, "after-rename"), 404, "workspace_not_found")
    seats_only = patch(sandbox, wid, seats_purchased=5).json()
    assert (seats_only["display_name"], seats_only["seats_total"]) == ("After-Rename", 5)
    unchanged = sandbox.client.patch(f"{API}/{wid}", headers=auth_headers()).json()  # no body
    assert (unchanged["display_name"], unchanged["seats_total"]) == ("After-Rename", 5)
    assert_error(patch(sandbox, wid, display_name="bad name"), 400, "invalid_request")
    assert_error(patch(sandbox, wid, seats_purchased=0), 400, "invalid_request")


@pytest.mark.parametrize("call", ["get", "patch", "users"])
def test_every_workspace_operation_keeps_the_ownership_and_eligibility_rules(sandbox, call):
    wid = create(sandbox, name(), seats=2).json()["workspace_id"]
    do = {"get": lambda w, p: details(sandbox, w, p), "patch": lambda w, p: patch(sandbox, w, p, seats_purchased=5),
          "users": lambda w, p: add_users(sandbox, w, 1, p)}[call]
    assert_error(do(wid, "other-partner"), 404, "workspace_not_found")
    assert_error(do("no-such-workspace", "sandbox-partner"), 404, "workspace_not_found")
    assert_error(do("billed-workspace", "sandbox-partner"), 403, "workspace_billing_managed")
    assert_error(do("inactive-workspace", "inactive-partner"), 403, "partner_not_active")
    state = details(sandbox, wid).json()
    assert state["seats"] == {"total": 2, "used": 1}  # nothing the other partner sent changed it


def test_quotas_follow_the_billing_period_on_the_test_clock(start_app):
    server = start_app()
    wid = create(server, "Quota-Shop", seats=2).json()["workspace_id"]
    control(server, "POST", "/clock", json={"set": "2031-03-20T12:00:00Z"})
    used = control(server, "POST", f"/workspaces/{wid}/usage", json={"messages": 12})
    assert used.status_code == 200, used.text
    control(server, "POST", f"/workspaces/{wid}/usage", json={"api_calls": 7})
    state = details(server, wid).json()
    assert state["messages_quota"] == {"total": 1000, "used": 12, "period_start": "2031-03-01T00:00:00Z",
                                       "period_end": "2031-04-01T00:00:00Z"}
    assert (state["api_calls_quota"]["total"], state["api_calls_quota"]["used"]) == (10000, 7)
    control(server, "POST", "/clock", json={"set": "2031-04-02T00:00:00Z"})  # a new period: counters start again
    state = details(server, wid).json()
    assert (state["messages_quota"]["used"], state["messages_quota"]["period_start"]) == (0, "2031-04-01T00:00:00Z")
    assert state["api_calls_quota"]["used"] == 0
    r = control(server, "POST", f"/workspaces/{wid}/usage", json={"messages": 1, "api_calls": 1})
    assert_error(r, 400, "invalid_request")
    assert_error(control(server, "POST", "/workspaces/other-workspace/usage", json={"messages": 1}), 404,
                 "workspace_not_found")


def test_reset_removes_created_workspaces_and_restores_the_fixtures(start_app):
    server = start_app()
    wid = create(server, "Made-Then-Reset", seats=2).json()["workspace_id"]
    patch(server, "my-first-workspace", display_name="Renamed")
    assert control(server, "POST", "/reset").status_code == 204
    assert_error(details(server, wid), 404, "workspace_not_found")
    assert details(server, "my-first-workspace").json()["display_name"] == "my-first-workspace"
    assert create(server, "Made-Then-Reset", seats=2).status_code == 201  # the id is free again


def test_user_creation_on_two_postgresql_replicas_never_oversells_seats(pg_replicas):
    servers = pg_replicas
    wid = create(servers[0], "Pg-Seats", seats=6).json()["workspace_id"]
    targets = [servers[i % 2].base_url for i in range(20)]

    def one(base):
        with httpx.Client(base_url=base, timeout=30) as client:
            return client.post(f"{API}/{wid}/users", headers=auth_headers(), json={"count": 1})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(one, targets))
    assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * 15
    ids = [u["user_id"] for r in responses if r.status_code == 201 for u in r.json()["users"]]
    assert len(set(ids)) == 5
    assert len(details(servers[1], wid).json()["users"]) == 6


def test_concurrent_creations_of_one_id_on_two_postgresql_replicas_make_one_workspace(pg_replicas):
    servers = pg_replicas

    def one(i):
        with httpx.Client(base_url=servers[i % 2].base_url, timeout=30) as client:
            return client.post(API, headers=auth_headers(), json={"display_name": "Race-Shop", "seats_purchased": 2})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(one, range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 11, [r.text for r in responses if r.status_code not in (201, 409)]
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, "workspace_creation_failed")
    assert len(details(servers[1], "race-shop").json()["users"]) == 1  # one owner: one workspace
