"""`partner-sandbox lint`: a spec and the fixtures checked as the server will use them, reported as
`file:line: message`."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import jsonschema
import yaml

from .. import ecma
from ..fixtures import FixtureError, _line_of, load_world
from ..resources import default_fixtures_path, spec_path
from ..spec import SpecDocument
from ..web.routing import handler_name

class Spec(SpecDocument):
    """A spec file, with its composed YAML for the line of any pointer."""

    def __init__(self, path: Path):
        text = path.read_text(encoding="utf-8")
        super().__init__(yaml.safe_load(text))
        self.path = path
        self.root = yaml.compose(text, Loader=yaml.SafeLoader)

    def where(self, pointer: list) -> str:
        line = _line_of(self.root, pointer)
        return f"{self.path}:{line}" if line else str(self.path)


def examples(spec: Spec):
    """(pointer, schema, value) for every example: media types, parameters, headers, schemas."""
    found = []

    def walk(node, pointer):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, pointer + [i])
            return
        if not isinstance(node, dict):
            return
        if "example" in node and ("schema" in node or "type" in node):
            found.append((pointer + ["example"], node.get("schema", node), node["example"]))
        if "examples" in node and "schema" in node and isinstance(node["examples"], dict):
            for name, ex in node["examples"].items():
                ex = spec.resolve(ex)
                if isinstance(ex, dict) and "value" in ex:
                    found.append((pointer + ["examples", name, "value"], node["schema"], ex["value"]))
        for key, value in node.items():
            if key not in ("example", "examples"):
                walk(value, pointer + [key])

    walk(spec.raw, [])
    return found


def lint_spec(path: Path) -> list[str]:
    # The spec authors' tools, from the `qa` extra (the command checks they are there).
    from openapi_schema_validator import OAS30Validator, OAS31Validator
    from openapi_spec_validator import validate as validate_spec
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        spec = Spec(path)
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: cannot be read as YAML: {exc}"]
    errors: list[str] = []
    try:
        validate_spec(spec.raw)
    except OpenAPIValidationError as exc:
        pointer = list(getattr(exc, "absolute_path", []) or [])
        errors.append(f"{spec.where(pointer)}: not a valid OpenAPI document: {exc.message}")
        return errors
    validator_class = OAS31Validator if str(spec.raw.get("openapi", "")).startswith("3.1") else OAS30Validator
    # `pattern` as OpenAPI means it (ECMA-262), as the server checks it.
    validator_class = jsonschema.validators.extend(validator_class, {"pattern": ecma.pattern_keyword})
    for pointer, schema, value in examples(spec):
        try:
            validator_class(spec.inline(schema), format_checker=validator_class.FORMAT_CHECKER).validate(value)
        except jsonschema.ValidationError as exc:
            inner = pointer + list(exc.absolute_path)
            errors.append(f"{spec.where(inner)}: example does not fit its schema: {exc.message}")
    for pointer, _path, _method, op in spec.operations():
        operation_id = op.get("operationId")
        if not operation_id or pointer[0] == "webhooks":
            continue
        where = spec.where(pointer + ["operationId"])
        try:
            module_name, _, function = handler_name(operation_id, op.get("tags") or []).rpartition(".")
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            errors.append(f"{where}: operationId {operation_id}: cannot import {module_name}: {exc}")
            continue
        if not callable(getattr(module, function, None)):
            errors.append(f"{where}: operationId {operation_id}: no handler {function} in {module_name}")
    return errors


def lint_fixtures(path: Path) -> list[str]:
    try:
        load_world(path)
    except FixtureError as exc:
        return str(exc).splitlines()
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="*", type=Path, help="spec files (default: the packaged openapi.yaml)")
    parser.add_argument("--fixtures", type=Path, default=default_fixtures_path(), help="the fixture file to check")


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when it is under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    errors: list[str] = []
    specs = args.spec or [spec_path()]
    for path in specs:
        errors += lint_spec(path)
    errors += lint_fixtures(args.fixtures)
    for error in errors:
        print(error)
    checked = ", ".join(_shown(p) for p in [*specs, args.fixtures])
    print(f"{len(errors)} error(s) in {checked}" if errors else f"ok: {checked}")
    return 1 if errors else 0
