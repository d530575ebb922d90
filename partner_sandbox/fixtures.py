"""The sandbox world as YAML: loading, validation with file/path/line errors, and its data types."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import jsonschema_rs
import yaml

from . import ecma, yaml_events
from .domain.embedding import MAX_ORIGINS, canonical_origin, checked_origins
from .domain.model import Plan
from .spec import YAML_LOADER

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{22,}$"  # base64url, at least 128 bits
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

FIXTURE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["partners"],
    "additionalProperties": False,
    "properties": {
        "partners": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "secret", "workspaces"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "secret": {"type": "string", "minLength": 32},
                    "active": {"type": "boolean", "description": "false: every call is 403 partner_not_active"},
                    "plan": {
                        "type": "object",
                        "description": "The plan the partner's workspaces are on, with its allowances",
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "integer", "minimum": 1},
                            "messages": {"type": "integer", "minimum": 0},
                            "api_calls": {"type": "integer", "minimum": 0},
                            "non_recurring": {"type": "integer", "minimum": 0},
                        },
                    },
                    "webhook_url": {"type": "string", "pattern": "^https?://[!-~]+$"},
                    "embedding_origins": {
                        "type": "array",
                        "description": "The origins (scheme://host[:port]) of pages that may frame the partner's QR links",
                        "maxItems": MAX_ORIGINS,
                        "items": {"type": "string"},
                    },
                    "workspaces": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "users"],
                            "additionalProperties": False,
                            "properties": {
                                "id": {"type": "string", "minLength": 1},
                                "display_name": {"type": "string", "minLength": 1, "maxLength": 100},
                                "seats_purchased": {"type": "integer", "minimum": 1, "maximum": 999},
                                "billing_managed": {
                                    "type": "boolean",
                                    "description": "true: every call on it is 403 workspace_billing_managed",
                                },
                                "users": {"type": "array", "items": {"$ref": "#/$defs/user"}},
                            },
                        },
                    },
                },
            },
        }
    },
    "$defs": {
        "user": {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "description": "unique across the whole world, as in the real service"},
                "status": {"enum": ["active", "suspended"], "description": "suspended: its QR call is 403"},
                "role": {"enum": ["owner", "agent"], "description": "agent by default; one owner a workspace at most"},
                "whatsapp": {
                    "type": "object",
                    "description": "A connected WhatsApp account.",
                    "required": ["account_id", "phone_number_e164"],
                    "additionalProperties": False,
                    "properties": {
                        "account_id": {"type": "integer", "minimum": 1},
                        "phone_number_e164": {"type": "string", "pattern": E164_PATTERN},
                    },
                },
                "active_link": {
                    "type": "object",
                    "description": "A link active when the state is seeded.",
                    "additionalProperties": False,
                    "properties": {
                        "expires_in_hours": {"type": "integer", "minimum": 1, "maximum": 168},
                        "token": {"type": "string", "pattern": TOKEN_PATTERN},
                    },
                },
            },
        }
    },
}


class FixtureError(ValueError):
    """A fixture file that cannot become the sandbox world; the message says file, path, line, reason."""


@dataclass(frozen=True)
class WhatsAppFixture:
    account_id: int
    phone_number_e164: str


@dataclass(frozen=True)
class LinkFixture:
    expires_in_hours: int = 24
    token: str | None = None


@dataclass(frozen=True)
class UserFixture:
    id: int
    whatsapp: WhatsAppFixture | None = None
    active_link: LinkFixture | None = None
    status: str = "active"
    role: str = "agent"


@dataclass(frozen=True)
class WorkspaceFixture:
    id: str
    users: tuple[UserFixture, ...]
    billing_managed: bool = False
    display_name: str | None = None  # the id when not given
    seats_purchased: int | None = None  # the active users (at least 1) when not given

    @property
    def seats(self) -> int:
        if self.seats_purchased is not None:
            return self.seats_purchased
        return max(1, sum(1 for u in self.users if u.status == "active"))




@dataclass(frozen=True)
class PartnerFixture:
    id: str
    secret: str
    workspaces: tuple[WorkspaceFixture, ...] = field(default_factory=tuple)
    webhook_url: str | None = None
    active: bool = True
    plan: Plan = Plan()
    embedding_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class World:
    partners: tuple[PartnerFixture, ...]

    def partner(self, partner_id: str) -> PartnerFixture | None:
        return next((p for p in self.partners if p.id == partner_id), None)


def _format_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document root)"


def _line_of(root: yaml.Node | None, path) -> int | None:
    """The 1-based line of the node at `path` in a composed YAML document."""
    node, line = root, None
    for part in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def _semantic_errors(doc: dict) -> list[tuple[list, str]]:
    """Rules a JSON Schema cannot state: unique ids, tokens and accounts across the world; a
    suspended user has neither a connected account nor an active link."""
    errors: list[tuple[list, str]] = []
    partners, workspaces, tokens, accounts = set(), set(), set(), set()
    users: dict[int, str] = {}  # user id -> the workspace that has it
    for pi, partner in enumerate(doc["partners"]):
        if partner["id"] in partners:
            errors.append((["partners", pi, "id"], f"partner id '{partner['id']}' is used twice"))
        partners.add(partner["id"])
        for oi, origin in enumerate(partner.get("embedding_origins", [])):
            if canonical_origin(origin) is None:
                errors.append((["partners", pi, "embedding_origins", oi],
                               f"'{origin}' is not an origin (http or https://host[:port], with no path)"))
        for wi, ws in enumerate(partner["workspaces"]):
            wpath = ["partners", pi, "workspaces", wi]
            if ws["id"] in workspaces:
                errors.append((wpath + ["id"], f"workspace id '{ws['id']}' is used twice"))
            workspaces.add(ws["id"])
            for ui, user in enumerate(ws["users"]):
                upath = wpath + ["users", ui]
                if user["id"] in users:
                    errors.append((upath + ["id"], f"user id {user['id']} is used twice ('{users[user['id']]}' has it"
                                   f" already): user ids are unique across all workspaces"))
                users.setdefault(user["id"], ws["id"])
                if user.get("status") == "suspended":
                    errors += [(upath + [key], f"a suspended user cannot have {key}")
                               for key in ("whatsapp", "active_link") if key in user]
                token = (user.get("active_link") or {}).get("token")
                if token is not None:
                    if token in tokens:
                        errors.append((upath + ["active_link", "token"], "link token is used twice"))
                    tokens.add(token)
                account = (user.get("whatsapp") or {}).get("account_id")
                if account is not None:
                    if account in accounts:
                        errors.append((upath + ["whatsapp", "account_id"], f"account id {account} is used twice"))
                    accounts.add(account)
            owners = [ui for ui, user in enumerate(ws["users"]) if user.get("role") == "owner"]
            errors += [(wpath + ["users", ui, "role"], f"workspace '{ws['id']}' has an owner already")
                       for ui in owners[1:]]
            in_use = sum(1 for user in ws["users"] if user.get("status", "active") == "active")
            if ws.get("seats_purchased", in_use) < in_use:
                errors.append((wpath + ["seats_purchased"], f"{ws['seats_purchased']} seat(s) for {in_use} active user(s)"))
    return errors


_FAST_CHECK = jsonschema_rs.validator_for(FIXTURE_SCHEMA)
_DESCRIBER = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": ecma.pattern_keyword})


def parse_world(text: str, source: str) -> World:
    """Validate a fixture document and build the World; raises FixtureError naming every problem."""
    try:
        doc = yaml_events.load(text, YAML_LOADER)  # what yaml.load gives, faster on a large world
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise FixtureError(f"{source}{where}: (document): not valid YAML: {getattr(exc, 'problem', exc)}") from None

    # The Rust validator settles a good world quickly; a bad one is described by jsonschema.
    found = []
    if not _FAST_CHECK.is_valid(doc):
        validator = _DESCRIBER(FIXTURE_SCHEMA)
        found = [(list(e.absolute_path), e.message) for e in validator.iter_errors(doc)]
    if not found:
        found = _semantic_errors(doc)
    if found:
        root = yaml.compose(text, Loader=YAML_LOADER)  # only now: line numbers for the messages
        lines = []
        for path, reason in sorted(found, key=lambda f: [str(p) for p in f[0]]):
            line = _line_of(root, path)
            lines.append(f"{source}{f':{line}' if line else ''}: {_format_path(path)}: {reason}")
        raise FixtureError("\n".join(lines))

    return World(
        partners=tuple(
            PartnerFixture(
                id=p["id"],
                secret=p["secret"],
                webhook_url=p.get("webhook_url"),
                embedding_origins=tuple(checked_origins(p.get("embedding_origins", []))),
                active=p.get("active", True),
                plan=Plan(**p.get("plan", {})),
                workspaces=tuple(
                    WorkspaceFixture(
                        id=w["id"],
                        billing_managed=w.get("billing_managed", False),
                        display_name=w.get("display_name"),
                        seats_purchased=w.get("seats_purchased"),
                        users=tuple(
                            UserFixture(
                                id=u["id"],
                                whatsapp=WhatsAppFixture(**u["whatsapp"]) if "whatsapp" in u else None,
                                active_link=LinkFixture(**u["active_link"]) if "active_link" in u else None,
                                status=u.get("status", "active"),
                                role=u.get("role", "agent"),
                            )
                            for u in w["users"]
                        ),
                    )
                    for w in p["workspaces"]
                ),
            )
            for p in doc["partners"]
        )
    )


def load_world(path: Path | str) -> World:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: (document): cannot be read: {exc}") from None
    return parse_world(text, str(path))
