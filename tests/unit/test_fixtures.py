"""Fixture validation: every broken world is refused with file, line, path in the document and reason."""

from __future__ import annotations

import pytest

from partner_sandbox.fixtures import FixtureError, load_world, parse_world
from partner_sandbox.resources import default_fixtures_path

GOOD = """\
partners:
  - id: p1
    secret: p1-secret-that-is-long-enough-000000
    workspaces:
      - id: w1
        users:
          - id: 1
          - id: 2
            whatsapp: {account_id: 5, phone_number_e164: "+15550000002"}
"""


def error_of(text: str) -> str:
    with pytest.raises(FixtureError) as exc:
        parse_world(text, "world.yaml")
    return str(exc.value)


def test_the_shipped_default_world_is_valid_and_has_what_the_docs_promise():
    world = load_world(default_fixtures_path())
    sandbox = world.partner("sandbox-partner")
    assert sandbox.secret == "sandbox-partner-secret-for-local-testing"
    users = {u.id: u for u in sandbox.workspaces[0].users}
    assert sandbox.workspaces[0].id == "my-first-workspace"
    assert set(users) == {42, 43, 44, *range(45, 62)}
    assert users[43].whatsapp is not None and users[44].active_link.expires_in_hours == 24
    assert all(users[u].whatsapp is None and users[u].active_link is None for u in [42, *range(45, 61)])
    assert users[61].status == "suspended" and all(users[u].status == "active" for u in range(42, 61))
    billed = sandbox.workspaces[1]
    assert (billed.id, billed.billing_managed, [u.id for u in billed.users]) == ("billed-workspace", True, [70])
    assert not sandbox.workspaces[0].billing_managed and sandbox.active
    other = world.partner("other-partner")
    assert other.secret == "other-partner-secret-for-local-testing" and other.active
    assert [(w.id, [u.id for u in w.users]) for w in other.workspaces] == [("other-workspace", [7])]
    inactive = world.partner("inactive-partner")
    assert inactive.active is False and inactive.secret == "inactive-partner-secret-for-local-testing"
    assert [(w.id, [u.id for u in w.users]) for w in inactive.workspaces] == [("inactive-workspace", [80])]


def test_a_good_world_parses():
    world = parse_world(GOOD, "world.yaml")
    assert world.partners[0].workspaces[0].users[1].whatsapp.account_id == 5


@pytest.mark.parametrize(
    "change, expected",
    [
        (("id: 1", "id: one"), "world.yaml:7: partners[0].workspaces[0].users[0].id: 'one' is not of type 'integer'"),
        (("+15550000002", "555"), "world.yaml:9: partners[0].workspaces[0].users[1].whatsapp.phone_number_e164: '555' does not match"),
        (("secret: p1-secret-that-is-long-enough-000000", "secret: short"), "world.yaml:3: partners[0].secret: 'short' is too short"),
        (("id: 2", "id: 1"), "world.yaml:8: partners[0].workspaces[0].users[1].id: user id 1 is used twice ('w1' has it already)"),
        (("          - id: 1\n", "          - id: 1\n            status: gone\n"), "world.yaml:8: partners[0].workspaces[0].users[0].status: 'gone' is not one of ['active', 'suspended']"),
        (("            whatsapp:", "            status: suspended\n            whatsapp:"), "partners[0].workspaces[0].users[1].whatsapp: a suspended user cannot have whatsapp"),
        (("      - id: w1\n", "      - id: w1\n        billing_managed: yes please\n"), "partners[0].workspaces[0].billing_managed: 'yes please' is not of type 'boolean'"),
        (("    secret: p1", "    active: 1\n    secret: p1"), "world.yaml:3: partners[0].active: 1 is not of type 'boolean'"),
        (("      - id: w1\n", "      - id: w1\n        seats_purchased: 1\n"), "partners[0].workspaces[0].seats_purchased: 1 seat(s) for 2 active user(s)"),
        (("          - id: 2\n", "          - id: 2\n            role: boss\n"), "partners[0].workspaces[0].users[1].role: 'boss' is not one of"),
        (("    secret: p1", "    plan: {id: 0}\n    secret: p1"), "partners[0].plan.id: 0 is less than the minimum of 1"),
        (("          - id: 1\n", "          - id: 1\n            colour: red\n"), "partners[0].workspaces[0].users[0]: Additional properties are not allowed ('colour' was unexpected)"),
        (("partners:", "partner:"), "world.yaml:1: (document root): 'partners' is a required property"),
    ],
)
def test_broken_worlds_name_file_line_path_and_reason(change, expected):
    old, new = change
    assert old in GOOD
    assert expected in error_of(GOOD.replace(old, new, 1))


def test_yaml_syntax_errors_name_the_line():
    assert error_of(GOOD + "  - [unclosed\n").startswith("world.yaml:11: ")


def test_user_ids_are_unique_across_workspaces_and_partners():
    text = GOOD + """\
  - id: p2
    secret: p2-secret-that-is-long-enough-000000
    workspaces:
      - {id: w2, users: [{id: 2}]}
"""
    assert "partners[1].workspaces[0].users[0].id: user id 2 is used twice ('w1' has it already)" in error_of(text)


def test_one_owner_a_workspace_and_the_plan_and_seats_are_read():
    two_owners = GOOD.replace("          - id: 1\n", "          - id: 1\n            role: owner\n").replace(
        "          - id: 2\n", "          - id: 2\n            role: owner\n")
    assert "partners[0].workspaces[0].users[1].role: workspace 'w1' has an owner already" in error_of(two_owners)
    text = GOOD.replace("    secret: p1", "    plan: {id: 7, messages: 50}\n    secret: p1").replace(
        "      - id: w1\n", "      - id: w1\n        seats_purchased: 9\n        display_name: Shop\n")
    partner = parse_world(text, "world.yaml").partners[0]
    assert (partner.plan.id, partner.plan.messages, partner.plan.api_calls) == (7, 50, 10_000)
    assert (partner.workspaces[0].seats, partner.workspaces[0].display_name) == (9, "Shop")


def test_fixture_files_of_the_earlier_shape_still_load():
    world = parse_world(GOOD, "world.yaml")  # no active, billing_managed or status anywhere
    assert world.partners[0].active and not world.partners[0].workspaces[0].billing_managed
    assert {u.status for u in world.partners[0].workspaces[0].users} == {"active"}
    assert {u.role for u in world.partners[0].workspaces[0].users} == {"agent"}
    assert world.partners[0].workspaces[0].seats == 2  # as many seats as active users


def test_duplicate_workspace_across_partners_is_refused():
    text = GOOD + """\
  - id: p2
    secret: p2-secret-that-is-long-enough-000000
    workspaces:
      - {id: w1, users: []}
"""
    assert "partners[1].workspaces[0].id: workspace id 'w1' is used twice" in error_of(text)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FixtureError, match="nope.yaml: .*cannot be read"):
        load_world(tmp_path / "nope.yaml")


def test_link_tokens_and_account_ids_are_unique_across_the_world():
    token = "t" * 43
    text = GOOD.replace("          - id: 1\n", f"          - id: 1\n            active_link: {{token: {token}}}\n"
                        f"            whatsapp: {{account_id: 5, phone_number_e164: \"+15550000001\"}}\n") + f"""\
  - id: p2
    secret: p2-secret-that-is-long-enough-000000
    workspaces:
      - {{id: w2, users: [{{id: 3, active_link: {{token: {token}}}}}]}}
"""
    error = error_of(text)
    assert "partners[0].workspaces[0].users[1].whatsapp.account_id: account id 5 is used twice" in error
    assert "partners[1].workspaces[0].users[0].active_link.token: link token is used twice" in error


def test_embedding_origins_are_read_in_the_form_a_browser_writes_them():
    good = GOOD.replace("    secret: p1", "    embedding_origins: ['https://App.partner.example:443', 'http://localhost:3000']\n"
                        "    secret: p1")
    assert parse_world(good, "world.yaml").partners[0].embedding_origins == (
        "https://app.partner.example", "http://localhost:3000")
    assert parse_world(GOOD, "world.yaml").partners[0].embedding_origins == ()
    for origin in ["https://app.example/embed", "ftp://app.example", "app.example"]:
        text = GOOD.replace("    secret: p1", f"    embedding_origins: ['{origin}']\n    secret: p1")
        assert f"world.yaml:3: partners[0].embedding_origins[0]: '{origin}' is not an origin" in error_of(text)


def test_a_phone_number_with_a_final_newline_is_refused_and_named():
    """Patterns mean what they mean in the spec (ECMA-262): `$` is the end of the text."""
    message = error_of(GOOD.replace('"+15550000002"', '"+15550000002\\n"'))
    assert "world.yaml:9:" in message and "phone_number_e164" in message and "does not match" in message, message
