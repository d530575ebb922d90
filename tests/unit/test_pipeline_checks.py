"""The pipeline's checks, compiled from the specs, mean what connexion's path means: every operation of
the three APIs compiles; each body and parameter check accepts exactly what connexion's validator
accepts (generated documents, hypothesis); its response checks refuse a wrong answer."""

from __future__ import annotations

import copy
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_sandbox import ecma
from partner_sandbox.resources import control_spec_path, public_spec_path, spec_path
from partner_sandbox.spec import SpecDocument
from partner_sandbox.web.pipeline import Check, _portable, compile_operations
from partner_sandbox.web.validation import CompiledSchemas

SPECS = {p.name: SpecDocument.load(p) for p in (spec_path(), control_spec_path(), public_spec_path())}


def schemas() -> list[tuple[str, dict]]:
    """Every request body and parameter schema of the three specs, by where it is."""
    found = []
    for name, spec in SPECS.items():
        for _, path, _method, op in spec.operations():
            if not path.startswith("/"):
                continue
            where = f"{name} {op['operationId']}"
            if "requestBody" in op:
                body = spec.resolve(op["requestBody"])["content"]["application/json"]["schema"]
                found.append((f"{where} body", spec.inline(body)))
            for param in spec.raw["paths"][path].get("parameters", []) + op.get("parameters", []):
                param = spec.resolve(param)
                found.append((f"{where} {param['name']}", spec.inline(param["schema"])))
    return found


SCHEMAS = schemas()


def test_every_operation_of_every_api_compiles_into_the_pipeline():
    python = CompiledSchemas()
    for spec in SPECS.values():
        compiled = {op.operation_id for op in compile_operations(spec, validate_responses=True, python=python)}
        assert compiled == {op["operationId"] for _, path, _, op in spec.operations() if path.startswith("/")}


@pytest.mark.parametrize(("pattern", "portable"), [
    ("^[A-Za-z0-9-]+$", True), ("^[0-9]{8}$", True), ("^(a|b)+$", True),
    (r"^\d+$", False), ("^a.b$", False), ("(?i)^abc$", False), ("^a{,3}$", False), (r"^\w+$", False),
])
def test_only_patterns_that_mean_the_same_in_ecma_and_rust_are_compiled_in_rust(pattern, portable):
    assert _portable(pattern) is portable


def _names(schema: dict) -> list[str]:
    names = list(schema.get("properties") or {})
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        names += list(branch.get("properties") or {})
    return names or ["x"]


SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 24, 168, 169, 999, 1000, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 1.0, 2.5, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "a", "acme-store", "Acme Store", "abc\n", "١٢٣", "12345678", "1234567\n", "x" * 101,
                     "https://example.com/hook", "http://127.0.0.1:8080/x", "ftp://x", "2026-01-01T00:00:00Z",
                     "+15550000001", "connection_lost", "a_b", "Ab"]),
)
def near(schema: t.Any, depth: int = 0) -> st.SearchStrategy:
    """Documents close to what `schema` accepts: each value valid or just outside, each property
    present or not (a required one missing, a defaulted one left out), now and then another type."""
    if not isinstance(schema, dict) or depth > 4:
        return SCALARS
    options: list[st.SearchStrategy] = [SCALARS]
    for key in ("oneOf", "anyOf", "allOf"):
        options += [near(branch, depth + 1) for branch in schema.get(key, [])]
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        options.append(st.fixed_dictionaries({}, optional={name: near(sub, depth + 1) for name, sub in props.items()}))
        options.append(st.fixed_dictionaries({name: near(sub, depth + 1) for name, sub in props.items()}))
    elif kind == "integer":
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        options.append(st.sampled_from([low - 1, low, high, high + 1]) | st.integers(low, high))
    elif kind == "string":
        if "pattern" in schema:
            options.append(st.from_regex(ecma.python_syntax(schema["pattern"]), fullmatch=True))
        options.append(st.text(min_size=max(0, schema.get("minLength", 0) - 1),
                               max_size=min(200, schema.get("maxLength", 20) + 1)))
    elif kind == "array":
        options.append(st.lists(near(schema.get("items", {}), depth + 1), max_size=4))
    return st.one_of(*options)


JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                           max_size=3), max_leaves=6)


@pytest.mark.parametrize(("where", "schema"), SCHEMAS, ids=[w for w, _ in SCHEMAS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_each_check_accepts_exactly_what_connexions_validator_accepts(where, schema, data):
    python = CompiledSchemas()
    names = _names(schema)
    value = data.draw(st.one_of(
        near(schema), near(schema),
        JSON,
        st.dictionaries(st.sampled_from(names), JSON, max_size=len(names)),
        st.dictionaries(st.sampled_from(names), SCALARS, max_size=len(names)),
    ))
    ours = Check(schema, python)(copy.deepcopy(value))
    theirs = python.get(schema).is_valid(copy.deepcopy(value))
    assert ours == theirs, (where, value)


def test_defaults_are_filled_in_as_connexions_validator_fills_them():
    qr = next(schema for where, schema in SCHEMAS if where == "openapi.yaml userRequestQRLink body")
    mine, theirs = {}, {}
    assert Check(qr, CompiledSchemas())(mine)
    CompiledSchemas().get(qr).validate(theirs)
    assert mine == theirs == {"expires_in_hours": 24}


GOOD = {"workspace_id": "w", "user_id": 1, "qr_link": "http://127.0.0.1:8080/qr/abc", "expires_at": "2026-01-01T00:00:00Z",
        "whatsapp_disconnected": False, "previous_qr_revoked": True}


@pytest.mark.parametrize("change", [{"user_id": "1"}, {"expires_at": "tomorrow"}, {"qr_link": "not a url"},
                                    {"previous_qr_revoked": None}])
def test_the_response_checks_refuse_wrong_answers_formats_included(change):
    qr = next(op for op in compile_operations(SPECS["openapi.yaml"], validate_responses=True, python=CompiledSchemas())
              if op.operation_id == "userRequestQRLink")
    validator, required = qr.responses[200]
    assert validator.is_valid(GOOD) and not validator.is_valid({**GOOD, **change})
    assert {b"x-tl-api-version", b"cache-control"} <= set(required)


def test_no_response_checks_when_turned_off():
    assert all(op.responses == {} for op in compile_operations(SPECS["openapi.yaml"], validate_responses=False,
                                                               python=CompiledSchemas()))


@pytest.mark.parametrize(("fmt", "inside", "outside"), [("int32", 2**31 - 1, 2**31), ("int64", -(2**63), 2**63)])
def test_integer_formats_are_the_ranges_connexions_validator_checks(fmt, inside, outside):
    schema = {"type": "object", "properties": {"n": {"type": "integer", "format": fmt}}}
    python = CompiledSchemas()
    for value, valid in ((inside, True), (outside, False), (-outside - 1, False)):
        assert Check(schema, python)({"n": value}) is valid
        assert python.get(schema).is_valid({"n": value}) is valid


def test_calls_that_write_are_group_committed_and_reads_run_at_once():
    python = CompiledSchemas()
    writes = {op.operation_id: op.writes for spec in SPECS.values()
              for op in compile_operations(spec, validate_responses=True, python=python)}
    assert writes["userRequestQRLink"] and writes["workspaceCreate"] and writes["workspaceUpdate"]
    assert not writes["workspaceGet"] and not writes["getClock"]
    assert writes["getPublicAPIToken"]  # x-sandbox-writes: the first call creates the token
    assert writes["getWhatsappAccounts"]  # a Public API GET counts the call: it writes
