"""An OpenAPI document as data: `$ref` resolution, inlining and its operations. The one reader of
specs for the server (forced responses, the fast lane) and the tools (lint, diff)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
MAX_DEPTH = 50  # a guard against reference cycles; the project's specs have none

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: ~10x faster


class SpecDocument:
    def __init__(self, raw: dict):
        self.raw = raw

    @classmethod
    def load(cls, path: Path) -> SpecDocument:
        return cls(yaml.load(Path(path).read_text(encoding="utf-8"), Loader=YAML_LOADER))

    @property
    def base_path(self) -> str:
        return ((self.raw.get("servers") or [{"url": ""}])[0]["url"]).rstrip("/")

    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s until a node that is not one."""
        for _ in range(MAX_DEPTH):
            if not (isinstance(node, dict) and "$ref" in node):
                break
            target = self.raw
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def inline(self, node, depth: int = 0):
        """The node with every `$ref` in it replaced by what it refers to."""
        node = self.resolve(node)
        if depth > MAX_DEPTH:
            return node
        if isinstance(node, dict):
            return {k: self.inline(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v, depth + 1) for v in node]
        return node

    def operations(self):
        """(pointer, path, method, operation) for every operation, webhooks included."""
        for section in ("paths", "webhooks"):
            for path, item in (self.raw.get(section) or {}).items():
                for method, op in (item or {}).items():
                    if method in HTTP_METHODS and isinstance(op, dict):
                        yield [section, path, method], path, method, op

    def operation(self, operation_id: str) -> tuple[str, dict]:
        """(path, operation) of an operationId."""
        return next((path, op) for _, path, _, op in self.operations() if op.get("operationId") == operation_id)
