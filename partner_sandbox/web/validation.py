"""Validation plugged into connexion's validator_map: requests (`invalid_request` naming the field, an
absent JSON body read as `{}` with the spec's defaults applied) and JSON responses, with schemas
compiled once; responses by a compiled (Rust) validator."""

from __future__ import annotations

import json
import re
import typing as t

import jsonschema
import jsonschema_rs
from connexion.exceptions import NonConformingResponseBody
from connexion.validators import JSONRequestBodyValidator, JSONResponseBodyValidator, ParameterValidator
from connexion.validators import VALIDATOR_MAP
from connexion.datastructures import MediaTypeDict
from starlette.datastructures import MutableHeaders

from .. import ecma
from ..errors import ApiError

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Integers the store can hold, whatever the spec's format says (SQLite integers are 64-bit).
STORABLE = INT_RANGES["int64"]

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or INT_RANGES["int32"][0] <= value <= INT_RANGES["int32"][1]


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or STORABLE[0] <= value <= STORABLE[1]


def _with_defaults(validator_class):
    """A validator class that fills in `default` values of absent properties while validating, and
    reads `pattern` as ECMA-262 does (see ecma.py)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub:
                    instance.setdefault(name, sub["default"])
        yield from validate_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties, "pattern": ecma.pattern_keyword})


_DefaultsValidator = _with_defaults(jsonschema.Draft4Validator)


class CompiledSchemas:
    """Request schemas compiled once per app; keyed by the identity of connexion's resolved schema
    dicts."""

    def __init__(self) -> None:
        self._compiled: dict[int, tuple[dict, t.Any]] = {}

    def _compile(self, schema: dict) -> t.Any:
        return _DefaultsValidator(schema, format_checker=_FORMATS)

    def get(self, schema: dict) -> t.Any:
        entry = self._compiled.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, self._compile(schema))
            self._compiled[id(schema)] = entry
        return entry[1]


_SUBSCHEMA = ("items", "additionalProperties", "not")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_MAPS = ("properties", "patternProperties")
_OPENAPI_ONLY = ("nullable", "example", "discriminator", "xml", "externalDocs", "deprecated")


def json_schema(schema: t.Any) -> t.Any:
    """An OpenAPI 3.0 schema as JSON Schema (draft 4) reads it: `nullable: true` allows null, and the
    keywords JSON Schema does not have are dropped (a property may still be named like one)."""
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, t.Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY or key.startswith("x-"):
            continue
        if key in _SUBSCHEMA:
            converted[key] = json_schema(value)
        elif key in _SUBSCHEMA_LISTS:
            converted[key] = [json_schema(item) for item in value]
        elif key in _SUBSCHEMA_MAPS:
            converted[key] = {name: json_schema(sub) for name, sub in value.items()}
        else:
            converted[key] = value
    if schema.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def response_validator(schema: dict) -> t.Any:
    """A response schema (OpenAPI, `$ref`s inlined) compiled in Rust (jsonschema_rs), formats checked
    as connexion's response validator checks them (date-time with rfc3339): every answer's check,
    connexion's path and the fast lanes alike."""
    return jsonschema_rs.Draft4Validator(json_schema(schema), validate_formats=True)


class CompiledResponseSchemas(CompiledSchemas):
    """Response schemas compiled once per app (response_validator), keyed like request schemas."""

    def _compile(self, schema: dict) -> t.Any:
        return response_validator(schema)


def _first_error(validator: jsonschema.protocols.Validator, value: object) -> jsonschema.ValidationError | None:
    errors = sorted(validator.iter_errors(value), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    return errors[0] if errors else None


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "type" and error.instance is None:
        return f"null is not of type '{error.validator_value}'"
    if error.validator == "type" and isinstance(error.instance, str) and len(error.instance) > 64:
        return f"a value of {len(error.instance)} characters is not of type '{error.validator_value}'"
    if error.validator == "format" and error.validator_value in INT_RANGES:
        low, high = INT_RANGES[error.validator_value]
        return f"{error.instance} is outside the {error.validator_value} range {low}..{high}"
    return error.message


def _one_of(error: jsonschema.ValidationError) -> tuple[jsonschema.ValidationError, str]:
    """A oneOf of single-key commands: the error of the branch the body chose, or the list of choices."""
    keys = set(error.instance) if isinstance(error.instance, dict) else set()
    chosen = [i for i, branch in enumerate(error.validator_value) if keys and keys == set(branch.get("required", []))]
    if chosen:
        inner = [e for e in error.context if e.relative_schema_path[0] == chosen[0]]
        if inner:
            first = sorted(inner, key=lambda e: len(e.absolute_path))[-1]
            return first, _describe(first)
    choices = [", ".join(branch.get("required", [])) for branch in error.validator_value]
    return error, "send exactly one of: " + "; ".join(choices)


def _json_type(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_object(raw: bytes, encoding: str = "utf-8") -> dict:
    """A request body that must be a JSON object, or the 400 naming what is wrong with it; no body
    (or zero bytes) is `{}`, for the schema's defaults. The one reader of JSON request bodies."""
    if not raw:
        return {}
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise ApiError("invalid_request", f"The request body is not valid {encoding} text") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            "invalid_request", f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ApiError("invalid_request", "The request body is nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise ApiError("invalid_request", f"The request body holds a number that is too long: {exc}".split(";")[0]) from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", f"The request body must be a JSON object, not {_json_type(body)}")
    if _SURROGATE_ESCAPE.search(text):  # only an escape can make one: checked only when there is one
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError("invalid_request", "The request body holds a lone surrogate (\\ud800-\\udfff"
                           " without its pair), which is no character") from None
    return body


def validator_map(schemas: CompiledSchemas, responses: CompiledResponseSchemas | None = None) -> dict:
    """connexion's validator_map with this project's parameter, JSON body and JSON response validators."""
    compiled_responses = responses or CompiledResponseSchemas()

    class PartnerParameterValidator(ParameterValidator):
        def validate_request(self, request) -> None:
            values = {
                "path": lambda name: request.path_params.get(name.replace("-", "_")),
                "query": request.query_params.get,
                "header": request.headers.get,
                "cookie": request.cookies.get,
            }
            for location, read in values.items():
                for param in self.parameters.get(location, []):
                    name = param["name"]
                    value = read(name)
                    if value is None:
                        if param.get("required"):
                            raise ApiError("invalid_request", f"The {location} parameter '{name}' is required",
                                           fields=[name])
                        continue
                    error = _first_error(schemas.get(param.get("schema", {})), value)
                    if error is None and isinstance(value, int) and not STORABLE[0] <= value <= STORABLE[1]:
                        detail = f"{value} is outside the int64 range"
                    elif error is not None:
                        detail = _describe(error)
                    else:
                        continue
                    raise ApiError("invalid_request", f"The {location} parameter '{name}' is invalid: {detail}",
                                   fields=[name])

    class PartnerJSONBodyValidator(JSONRequestBodyValidator):
        # Defaults filled in during validation reach the handler.
        MUTABLE_VALIDATION = True

        def _insert_body(self, receive, *, body, scope):
            # The replayed body is JSON whatever the request said (it may have had no Content-Type),
            # so connexion hands the handler a dict.
            receive, scope = super()._insert_body(receive, body=body, scope=scope)
            headers = MutableHeaders(scope=scope)
            headers["content-type"] = "application/json"
            return receive, scope

        async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope) -> t.Any:
            return json_object(b"".join([chunk async for chunk in stream]), self._encoding)

        def _validate(self, body: t.Any) -> None:
            error = _first_error(schemas.get(self._schema), body)
            if error is None:
                return
            if error.validator == "oneOf":
                error, message = _one_of(error)
            else:
                message = _describe(error)
            field = ".".join(str(p) for p in error.absolute_path) or "(body)"
            fields = [str(p) for p in error.absolute_path]
            if error.validator == "required" and isinstance(error.instance, dict):  # the missing property's path
                fields += [name for name in error.validator_value if name not in error.instance][:1]
            raise ApiError("invalid_request", f"{field}: {message}", fields=fields)

    class CompiledJSONResponseValidator(JSONResponseBodyValidator):
        # connexion's builds a Python validator for every response; this one is compiled once.
        def _validate(self, body: t.Any) -> None:
            validator = compiled_responses.get(self._schema)
            if validator.is_valid(body):
                return
            error = next(iter(validator.iter_errors(body)))
            where = "/".join(str(p) for p in error.instance_path) or "(body)"
            raise NonConformingResponseBody(detail=f"Response body does not conform to specification. {where}:"
                                                   f" {error.message}")

    body = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    body["*/*json"] = PartnerJSONBodyValidator
    response = MediaTypeDict(dict(VALIDATOR_MAP["response"]))
    response["*/*json"] = CompiledJSONResponseValidator
    return {"parameter": PartnerParameterValidator, "body": body, "response": response}
