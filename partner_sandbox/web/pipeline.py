"""One pipeline for every JSON operation of the served specs, compiled from them once at start:
the route table, each operation's parameter and body checks, its security scheme, its handler (the
same one connexion resolves) and its response checks.

A request this pipeline takes passes every check the spec asks for, in the same terms as connexion's
path: the route, the `Content-Type`, the body (compiled schemas, defaults filled in), the path,
query and header parameters, the credentials. Those checks are pure, so a request that fails one, or
that is unusual (a repeated header, `Prefer`, a body where the operation takes none, a query this
pipeline does not read, credentials that do not verify), goes on to connexion untouched, and
connexion's layers make every such refusal. Once the checks pass, the operation runs here, once:
the rate limit, the handler, the response check (compiled, every status) and the version header;
an error it raises is rendered by the one renderer (errors.py). So this path answers nothing the
other would refuse, and answers everything the other answers after its checks, the same way.

The credentials' check and the handler are one store call (offload.StoreCalls). On SQLite the calls
of one loop turn that write are group-committed: one transaction, each answer given once it is
stored; a read (a GET of the Partner or control API) runs at once, read-only. On PostgreSQL each runs in a
worker thread, so the event loop never waits on the database. The answer is rendered and checked
after the call, outside its transaction.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import jsonschema_rs
from connexion.context import _receive, _scope
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError
from ..offload import StoreCalls
from ..redaction import redact_link_tokens
from ..services.sandbox import Sandbox
from ..spec import SpecDocument
from .errors import INTERNAL, answer, error_answer
from . import security
from .routing import handler_function
from .validation import INT_RANGES, STORABLE, CompiledSchemas, json_object, json_schema, response_validator
from .versioning import VersionRule

log = logging.getLogger("partner_sandbox")

NO_BODY = {204, 304}  # answers without a Content-Length
MAX_BODY = 64 * 1024  # larger bodies take connexion's path (Guard bounds them there)
JSON_TYPES = {b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8"}
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}\Z")  # an integer parameter's text that int() reads the same everywhere
_MISSING = object()


# --- compiling the spec -----------------------------------------------------------------------------

_CLASS_ESCAPE = re.compile(r"\\[A-Za-z]")  # \d, \w, \s, \b, ...: ASCII in ECMA-262, Unicode in Rust's regex


def _portable(pattern: str) -> bool:
    """A pattern that means the same in ECMA-262 (connexion's check, ecma.py) and in Rust's regex:
    literals, bracketed classes, groups, alternation, quantifiers and anchors; no escape of a class
    (\\d, \\w, ...), no `.`, no `(?` group and no `{,n}`, where the three read patterns differently."""
    return not _CLASS_ESCAPE.search(pattern) and not any(part in pattern for part in (".", "(?", "{,"))


def _rust_ready(schema: t.Any, top: bool = True) -> bool:
    """Whether the compiled (Rust) check means what connexion's Python check means for this schema:
    only portable patterns, no format but the integer ranges, and defaults only on the top-level
    properties (the Python check fills in defaults wherever it walks)."""
    if isinstance(schema, list):
        return all(_rust_ready(item, False) for item in schema)
    if not isinstance(schema, dict):
        return True
    if ("pattern" in schema and not _portable(schema["pattern"])) or schema.get("format", "int64") not in INT_RANGES \
            or ("default" in schema and not top):
        return False
    for key, value in schema.items():
        if key == "properties" and top:
            if not all(_rust_ready({k: v for k, v in sub.items() if k != "default"}, False)
                       for sub in value.values() if isinstance(sub, dict)):
                return False
        elif key in ("properties", "patternProperties"):
            if not all(_rust_ready(sub, False) for sub in value.values()):
                return False
        elif (isinstance(value, dict | list) and key not in ("enum", "required", "example", "examples")
              and not _rust_ready(value, False)):
            return False
    return True


def _with_int_ranges(schema: t.Any) -> t.Any:
    """JSON Schema with the int32/int64 formats as the ranges they are checked as."""
    if isinstance(schema, list):
        return [_with_int_ranges(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (v if k in ("enum", "required") else _with_int_ranges(v)) for k, v in schema.items()}
    if schema.get("format") in INT_RANGES:
        low, high = INT_RANGES[schema["format"]]
        return {"allOf": [out, {"minimum": low, "maximum": high}]}
    return out


class Check:
    """A schema's check as connexion's path makes it: compiled in Rust where that means the same,
    else the very Python validator connexion's path uses (which fills in nested defaults).

    connexion's validator fills in a top-level default when it reaches `properties`, so a `required`
    written before `properties` sees the body as sent, one written after sees the defaults: the
    compiled check reads the body as sent too in the first case. A schema with other keywords that
    could see the defaults takes the Python validator."""

    _PLAIN = {"type", "required", "properties", "additionalProperties", "description", "title", "example"}

    def __init__(self, schema: dict, python: CompiledSchemas):
        self.defaults = {name: sub["default"] for name, sub in (schema.get("properties") or {}).items()
                         if isinstance(sub, dict) and "default" in sub}
        keys = list(schema)
        self.as_sent = bool(self.defaults) and "required" in keys and keys.index("required") < keys.index("properties")
        if _rust_ready(schema) and (not self.defaults or set(keys) <= self._PLAIN):
            self.is_valid = jsonschema_rs.Draft4Validator(_with_int_ranges(json_schema(schema))).is_valid
        else:
            self.is_valid = python.get(schema).is_valid
            self.defaults, self.as_sent = {}, False  # the Python check fills them in itself

    def __call__(self, value: t.Any) -> bool:
        if self.defaults and isinstance(value, dict):
            if self.as_sent and not self.is_valid(value):
                return False
            for name, default in self.defaults.items():
                value.setdefault(name, default)
        return bool(self.is_valid(value))


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body
WRITES_MARK = "x-sandbox-writes"  # on a GET that writes


class _Result(t.NamedTuple):
    value: t.Any  # what a handler returned, to be rendered


@dataclass
class Param:
    name: str
    location: str  # path, query, header
    required: bool
    integer: bool
    check: Check
    default: t.Any = _MISSING

    def __post_init__(self) -> None:
        self.header = self.name.lower().encode("latin-1")  # as ASGI gives header names



@dataclass
class Operation:
    operation_id: str
    method: str
    base_path: str
    route: re.Pattern
    params: list[Param]
    body: Check | None  # None: the operation takes no body
    body_required: bool
    credential: str | None  # "partner", "public" or None
    handler: t.Callable[..., t.Any]
    takes_token_info: bool
    responses: dict[int, tuple[t.Any, tuple[bytes, ...]]] = field(default_factory=dict)  # validator, required headers
    query_names: frozenset = frozenset()
    # Whether its calls write: any but a GET; every call of the Public API (each is counted); a GET
    # the spec marks `x-sandbox-writes: true` (getPublicAPIToken creates the token on the first call).
    # Calls that write are group-committed (offload.StoreCalls), which saves each its own commit; a
    # read has no commit to share and runs at once, in read-only transactions that wait for no writer
    # (measured: grouped, GET /workspaces/{id} was no faster and its p99 rose from 18 to 28 ms).
    writes: bool = True


def _route(path: str, params: dict[str, dict]) -> re.Pattern:
    """The path as connexion's router matches it: an integer is digits, anything else one segment."""
    pattern = re.escape(path)
    for name, param in params.items():
        if param["in"] == "path":
            part = "[0-9]+" if param["schema"].get("type") == "integer" else "[^/]+"
            pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{part})")
    return re.compile(f"{pattern}\\Z")


def compile_operations(spec: SpecDocument, *, validate_responses: bool, python: CompiledSchemas) -> list[Operation]:
    """Every operation of a spec whose parameters this pipeline reads (path, query, header; plain
    types) and whose body, if any, is JSON."""
    operations = []
    schemes = spec.raw.get("components", {}).get("securitySchemes", {})
    for _, path, method, op in spec.operations():
        if not path.startswith("/") or "operationId" not in op:
            continue
        item = spec.raw["paths"].get(path, {})
        raw_params = [spec.resolve(p) for p in (item.get("parameters", []) + op.get("parameters", []))]
        if any(p["in"] not in ("path", "query", "header") or "content" in p or "style" in p
               or spec.resolve(p.get("schema", {})).get("type") not in ("string", "integer") for p in raw_params):
            continue
        body, body_required = None, False
        if "requestBody" in op:
            request_body = spec.resolve(op["requestBody"])
            content = request_body.get("content", {})
            if list(content) != ["application/json"]:
                continue
            body = Check(spec.inline(content["application/json"].get("schema", {})), python)
            body_required = bool(request_body.get("required"))
        requirements = op.get("security", spec.raw.get("security", []))
        credential = None
        if requirements:
            names = [name for requirement in requirements for name in requirement]
            if len(requirements) != 1 or len(names) != 1:
                continue
            scheme = schemes[names[0]]
            if scheme.get("type") != "http" or scheme.get("scheme") != "bearer":
                continue
            credential = security.credential(scheme)
        params = []
        for p in raw_params:
            schema = spec.inline(p.get("schema", {}))
            params.append(Param(p["name"], p["in"], bool(p.get("required")), schema.get("type") == "integer",
                                Check(schema, python), schema.get("default", _MISSING)))
        handler = handler_function(op["operationId"], op.get("tags", []))
        responses = {}
        if validate_responses:
            for status, response in op.get("responses", {}).items():
                if not status.isdigit():
                    continue
                response = spec.resolve(response)
                schema = (response.get("content") or {}).get("application/json", {}).get("schema")
                required = tuple(name.lower().encode() for name, header in (response.get("headers") or {}).items()
                                 if spec.resolve(header).get("required"))
                responses[int(status)] = (response_validator(spec.inline(schema)) if schema else None, required)
        operations.append(Operation(
            op["operationId"], method.upper(), spec.base_path, _route(spec.base_path + path, {p["name"]: p for p in raw_params}),
            params, body, body_required, credential, handler, "token_info" in inspect.signature(handler).parameters,
            responses, frozenset(p.name for p in params if p.location == "query"),
            method.upper() != "GET" or credential == "public" or bool(op.get(WRITES_MARK))))
    return operations


# --- serving ----------------------------------------------------------------------------------------

class Pipeline:
    def __init__(self, app: ASGIApp, *, sandbox: Sandbox, specs: list[SpecDocument], validate_responses: bool,
                 version: VersionRule, calls: StoreCalls):
        self.app = app
        self.sandbox = sandbox
        self.calls = calls  # the store's calls, group-committed on SQLite (offload.py)
        self.version = version
        python = CompiledSchemas()
        self.routes: dict[str, list[Operation]] = {}
        for spec in specs:
            for operation in compile_operations(spec, validate_responses=validate_responses, python=python):
                self.routes.setdefault(operation.method, []).append(operation)
        self.prefixes = tuple({op.base_path + "/" for ops in self.routes.values() for op in ops})

    def _match(self, scope: Scope) -> tuple[Operation, re.Match] | None:
        for operation in self.routes.get(scope["method"], ()):
            match = operation.route.match(scope["path"])
            if match is not None:
                return operation, match
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._match(scope) if scope["type"] == "http" and scope["path"].startswith(self.prefixes) else None
        if found is None:
            await self.app(scope, receive, send)
            return
        operation, match = found
        headers = dict(scope["headers"])  # lower-case names; a repeated header goes connexion's way
        if len(headers) != len(scope["headers"]) or b"prefer" in headers:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body: bytes | None = b""
        if operation.body is not None:
            body, messages = await _read_body(receive, headers)
        elif b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0":
            body = None
        arguments = self._arguments(operation, match, scope, headers, body) if body is not None else None
        if arguments is not None:
            try:
                served = await self.calls.call(self._serve, operation, scope, receive, headers, arguments,
                                               writes=operation.writes)
            except ApiError as error:  # the store could not commit: nothing of it was stored
                served = error_answer(error, scope["path"])
            except Exception as exc:  # nor this way, which is a fault of ours
                served = _fault(scope, exc)
            answered = self._render(operation, scope, served.value) if isinstance(served, _Result) else served
            if answered is not None:
                await answer(send, *answered)
                return
        await self.app(scope, _replay(messages, receive), send)  # connexion answers, refusals included

    def _arguments(self, operation: Operation, match: re.Match, scope: Scope, headers: dict,
                   body: bytes) -> dict | None:
        """The handler's arguments when every check passes, else None (connexion's path answers)."""
        arguments: dict[str, t.Any] = {}
        query = {}
        if scope["query_string"]:
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            query = dict(pairs)
            if len(query) != len(pairs) or not query.keys() <= operation.query_names:
                return None
        for param in operation.params:
            if param.location == "path":
                value: t.Any = match[param.name]
            elif param.location == "query":
                value = query.get(param.name)
            else:
                raw = headers.get(param.header)
                value = raw.decode("latin-1") if raw is not None else None
            if value is None:
                if param.required:
                    return None
                if param.default is not _MISSING and param.location != "header":
                    arguments[param.name] = param.default
                continue
            if param.integer:
                if not _INTEGER_TEXT.match(value):
                    return None
                value = int(value)
                if not STORABLE[0] <= value <= STORABLE[1]:
                    return None
            if not param.check(value):
                return None
            if param.location != "header":
                arguments[param.name] = value
        if operation.body is not None:
            ctype = headers.get(b"content-type")
            if (body and ctype not in JSON_TYPES) or (not body and ctype is not None and ctype not in JSON_TYPES):
                return None
            if not body and operation.body_required:
                return None
            try:
                document = json_object(body)
            except ApiError:
                return None
            if not operation.body(document):
                return None
            arguments["body"] = document
        return arguments

    def _credentials(self, operation: Operation, headers: dict) -> dict | None:
        """The verified caller, by the rule of connexion's security layer (security.py); an ApiError
        when they do not verify, with nothing done."""
        if operation.credential is None:
            return None
        return security.verified(self.sandbox, operation.credential,
                                 headers.get(b"authorization", b"").decode("latin-1") or None,
                                 headers.get(b"x-tl-partner-id", b"").decode("latin-1") or None)

    def _serve(self, operation: Operation, scope: Scope, receive: Receive, headers: dict, arguments: dict,
               ) -> Answer | _Result | None:
        """The store's part of a request (a call of StoreCalls): the credentials' check and the handler.
        The handler's result, to be rendered; an error's answer; or None when the credentials do not
        verify."""
        path = scope["path"]
        try:
            try:
                token_info = self._credentials(operation, headers)
            except ApiError as error:
                if error.status != 503:
                    return None  # connexion's security layer refuses it, the same way
                return error_answer(error, path)  # the store failed: answered here, not tried again (a call may have counted)
            if token_info is not None:
                context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
                context["token_info"] = token_info
                if operation.takes_token_info:
                    arguments["token_info"] = token_info
            if token_info is not None and operation.credential is not None:
                security.admit(self.sandbox, operation.credential, token_info)
            _scope.set(scope)  # connexion's `request`, which handlers read their sandbox from
            _receive.set(receive)
            return _Result(operation.handler(**arguments))
        except ApiError as error:  # the operation's refusal, in the one renderer (unchecked, as connexion's)
            return error_answer(error, path)
        except Exception as exc:
            return _fault(scope, exc)

    def _render(self, operation: Operation, scope: Scope, result: t.Any) -> Answer:
        """A handler's result as the answer (status, headers, body), checked against the spec."""
        try:
            content, status, own = (*result, {})[:3] if isinstance(result, tuple) else (result, 200, {})
            payload = b"" if content is None else json.dumps(content).encode() + b"\n"
            head = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in own.items()]
            if not any(k == b"content-type" for k, _ in head):  # as connexion: the JSON media type
                head.append((b"content-type", b"application/json"))
            head += self.version.headers(operation.base_path, status)
            if status not in NO_BODY:
                head.append((b"content-length", str(len(payload)).encode()))
            self._check_response(operation, status, head, content)
            return status, head, payload
        except Exception as exc:
            return _fault(scope, exc)

    @staticmethod
    def _check_response(operation: Operation, status: int, head: list, content: t.Any) -> None:
        """The answer against the spec's response for its status: a wrong one is a bug, and raises."""
        validator, required = operation.responses.get(status, (None, ()))
        if validator is not None and content is not None:
            validator.validate(content)
        names = {name for name, _ in head}
        for name in required:
            if name not in names:
                raise ValueError(f"{operation.operation_id} answered {status} without the header {name.decode()}")


def _fault(scope: Scope, exc: Exception) -> Answer:
    """A fault of ours, logged and answered as connexion's path answers it."""
    log.error("unhandled error on %s %s", scope["method"], redact_link_tokens(scope["path"]), exc_info=exc)
    return error_answer(ApiError("internal_error", INTERNAL), scope["path"])


async def _read_body(receive: Receive, headers: dict) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than this path takes), and the messages to replay."""
    messages: list[Message] = []
    size = 0
    length = headers.get(b"content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY):
        return None, messages
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or size > MAX_BODY:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
