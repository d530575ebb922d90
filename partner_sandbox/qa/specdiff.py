"""`partner-sandbox diff OLD NEW`: what a change to a spec breaks, for spec authors.

Each finding has a JSON pointer into NEW (or OLD, for what was removed) and whom it breaks:
`clients` (code written against OLD stops working), `servers` (an implementation of OLD no longer
conforms to NEW) or `neither`. The rules follow the direction of the data: a request is what
clients send and servers accept, a response the other way round.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..spec import HTTP_METHODS, SpecDocument

REQUEST, RESPONSE = "request", "response"


@dataclass(frozen=True)
class Finding:
    pointer: str
    breaks: str  # clients | servers | both | neither
    message: str

    def __str__(self) -> str:
        return f"{self.breaks:8} {self.pointer}: {self.message}"


def _escape(part) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer(parts) -> str:
    return "#/" + "/".join(_escape(p) for p in parts)


def _tighter(old, new, smaller_is_tighter: bool) -> bool:
    if old is None:
        return new is not None
    if new is None:
        return False
    return new > old if not smaller_is_tighter else new < old


class Differ:
    def __init__(self, old: dict, new: dict):
        self.old, self.new = SpecDocument(old), SpecDocument(new)
        self.findings: list[Finding] = []

    def add(self, parts, breaks: str, message: str) -> None:
        self.findings.append(Finding(_pointer(parts), breaks, message))

    # --- schemas ------------------------------------------------------------------------------

    def narrowed(self, side: str) -> str:
        """Who a narrower schema breaks: in a request, clients; in a response, nobody."""
        return "clients" if side == REQUEST else "neither"

    def widened(self, side: str) -> str:
        """Who a wider schema breaks: in a request, servers; in a response, clients."""
        return "servers" if side == REQUEST else "clients"

    def schema(self, old, new, parts, side: str, depth: int = 0) -> None:
        old, new = self.old.resolve(old or {}), self.new.resolve(new or {})
        if depth > 20 or not isinstance(old, dict) or not isinstance(new, dict):
            return
        if old.get("type") != new.get("type") and old.get("type") and new.get("type"):
            self.add(parts + ["type"], "both", f"type changed from {old['type']} to {new['type']}")
            return
        for key, smaller_is_tighter, what in (
            ("minimum", False, "minimum raised"), ("maximum", True, "maximum lowered"),
            ("minLength", False, "minLength raised"), ("maxLength", True, "maxLength lowered"),
            ("minItems", False, "minItems raised"), ("maxItems", True, "maxItems lowered"),
        ):
            if old.get(key) == new.get(key):
                continue
            if _tighter(old.get(key), new.get(key), smaller_is_tighter):
                self.add(parts + [key], self.narrowed(side), f"{what}: {old.get(key)} -> {new.get(key)}")
            else:
                self.add(parts + [key], self.widened(side), f"{key} relaxed: {old.get(key)} -> {new.get(key)}")
        if "enum" in old or "enum" in new:
            before, after = old.get("enum"), new.get("enum")
            if before is not None and (after is None or set(map(repr, after)) > set(map(repr, before))):
                self.add(parts + ["enum"], self.widened(side), "enum values added")
            if after is not None and (before is None or set(map(repr, before)) - set(map(repr, after))):
                self.add(parts + ["enum"], self.narrowed(side), "enum values removed")
        if old.get("pattern") != new.get("pattern") and new.get("pattern"):
            self.add(parts + ["pattern"], self.narrowed(side), f"pattern changed to {new['pattern']!r}")
        if old.get("nullable", False) and not new.get("nullable", False):
            self.add(parts + ["nullable"], self.narrowed(side), "no longer nullable")
        if new.get("nullable", False) and not old.get("nullable", False):
            self.add(parts + ["nullable"], self.widened(side), "now nullable")
        old_props, new_props = old.get("properties", {}) or {}, new.get("properties", {}) or {}
        old_req, new_req = set(old.get("required", []) or []), set(new.get("required", []) or [])
        for name in sorted(old_props.keys() - new_props.keys()):
            if side == RESPONSE:
                self.add(parts + ["properties", name], "clients", f"response field {name!r} removed")
            else:
                self.add(parts + ["properties", name], "neither", f"request field {name!r} removed from the schema")
        for name in sorted(new_props.keys() - old_props.keys()):
            if side == REQUEST and name in new_req:
                self.add(parts + ["properties", name], "clients", f"new required request field {name!r}")
            elif side == RESPONSE and name not in new_req:
                self.add(parts + ["properties", name], "neither", f"new optional response field {name!r}")
            else:
                self.add(parts + ["properties", name], "neither" if side == RESPONSE else "servers",
                         f"new {'required' if name in new_req else 'optional'} {side} field {name!r}")
        for name in sorted(old_props.keys() & new_props.keys()):
            if side == REQUEST and name in new_req and name not in old_req:
                self.add(parts + ["required"], "clients", f"request field {name!r} is now required")
            if side == RESPONSE and name in old_req and name not in new_req:
                self.add(parts + ["required"], "clients", f"response field {name!r} is no longer always sent")
            self.schema(old_props[name], new_props[name], parts + ["properties", name], side, depth + 1)
        if "items" in old and "items" in new:
            self.schema(old["items"], new["items"], parts + ["items"], side, depth + 1)

    # --- operations ---------------------------------------------------------------------------

    def security(self, doc: SpecDocument, op: dict):
        return op.get("security", doc.raw.get("security"))

    def operation(self, old: dict, new: dict, parts) -> None:
        old_params = {(p["in"], p["name"]): p for p in map(self.old.resolve, old.get("parameters", []))}
        new_params = {(p["in"], p["name"]): p for p in map(self.new.resolve, new.get("parameters", []))}
        for index, param in enumerate(new.get("parameters", [])):
            param = self.new.resolve(param)
            key = (param["in"], param["name"])
            where = parts + ["parameters", index]
            if key not in old_params:
                if param.get("required"):
                    self.add(where, "clients", f"new required {param['in']} parameter {param['name']!r}")
                else:
                    self.add(where, "servers", f"new optional {param['in']} parameter {param['name']!r}")
                continue
            if param.get("required") and not old_params[key].get("required"):
                self.add(where + ["required"], "clients", f"{param['in']} parameter {param['name']!r} is now required")
            self.schema(old_params[key].get("schema"), param.get("schema"), where + ["schema"], REQUEST)
        for key in sorted(old_params.keys() - new_params.keys()):
            self.add(parts + ["parameters"], "servers", f"{key[0]} parameter {key[1]!r} removed")

        old_body = self.old.resolve(old.get("requestBody") or {})
        new_body = self.new.resolve(new.get("requestBody") or {})
        if new_body.get("required") and not old_body.get("required"):
            self.add(parts + ["requestBody", "required"], "clients", "request body is now required")
        for media, content in (new_body.get("content") or {}).items():
            before = (old_body.get("content") or {}).get(media)
            if before is not None:
                self.schema(before.get("schema"), content.get("schema"),
                            parts + ["requestBody", "content", media, "schema"], REQUEST)
        for media in sorted((old_body.get("content") or {}).keys() - (new_body.get("content") or {}).keys()):
            self.add(parts + ["requestBody", "content"], "clients", f"request media type {media} removed")

        old_responses, new_responses = old.get("responses", {}), new.get("responses", {})
        for status in sorted(map(str, old_responses.keys() - new_responses.keys())):
            self.add(parts + ["responses", status], "clients", f"response {status} removed")
        for status in sorted(map(str, new_responses.keys() - old_responses.keys())):
            self.add(parts + ["responses", status], "clients" if status.startswith("2") else "neither",
                     f"response {status} added")
        for status in sorted(map(str, old_responses.keys() & new_responses.keys())):
            before, after = self.old.resolve(old_responses[status]), self.new.resolve(new_responses[status])
            for media, content in (after.get("content") or {}).items():
                prior = (before.get("content") or {}).get(media)
                if prior is None:
                    continue
                self.schema(prior.get("schema"), content.get("schema"),
                            parts + ["responses", status, "content", media, "schema"], RESPONSE)
            for media in sorted((before.get("content") or {}).keys() - (after.get("content") or {}).keys()):
                self.add(parts + ["responses", status, "content"], "clients", f"response media type {media} removed")

        if self.security(self.old, old) != self.security(self.new, new):
            self.add(parts + ["security"], "clients", "security requirements changed")

    def run(self) -> list[Finding]:
        old_paths, new_paths = self.old.raw.get("paths", {}) or {}, self.new.raw.get("paths", {}) or {}
        for path in sorted(old_paths):
            for method in sorted(m for m in old_paths[path] if m in HTTP_METHODS):
                new_op = (new_paths.get(path) or {}).get(method)
                if new_op is None:
                    self.add(["paths", path, method], "clients", f"operation {method.upper()} {path} removed")
                else:
                    self.operation(old_paths[path][method], new_op, ["paths", path, method])
        for path in sorted(new_paths):
            for method in sorted(m for m in new_paths[path] if m in HTTP_METHODS):
                if method not in (old_paths.get(path) or {}):
                    self.add(["paths", path, method], "servers", f"operation {method.upper()} {path} added")
        old_schemes = (self.old.raw.get("components") or {}).get("securitySchemes")
        new_schemes = (self.new.raw.get("components") or {}).get("securitySchemes")
        if old_schemes != new_schemes:
            self.add(["components", "securitySchemes"], "clients", "security schemes changed")
        return self.findings


def diff(old: dict, new: dict) -> list[Finding]:
    return Differ(old, new).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)


def run(args: argparse.Namespace) -> int:
    findings = diff(yaml.safe_load(args.old.read_text()), yaml.safe_load(args.new.read_text()))
    for finding in findings:
        print(finding)
    breaking = [f for f in findings if f.breaks in ("clients", "both")]
    print(f"{len(findings)} change(s), {len(breaking)} breaking clients" if findings else "no changes to the contract")
    return 1 if breaking else 0
