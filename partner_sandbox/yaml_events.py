"""A YAML document loaded as PyYAML's safe loader loads it, but built from libyaml's events instead of
from its node graph: a fixture world of 1,000,000 users loads in about 4 s instead of 25 s.

libyaml (CSafeLoader) parses in C, but PyYAML then composes a node per scalar (resolving each one's
tag in Python) and constructs the values from the nodes in Python, generically (anchors, recursion,
deep construction): that was 85% of a large world's start-up. Here the events are turned into
dicts, lists and scalars directly. A plain scalar's tag is resolved by PyYAML's own resolver and its
value made by PyYAML's own constructor (a plain decimal integer, the bulk of a world, is read by
`int` at once, as PyYAML's constructor would read it). Anything this does not handle the same way
(anchors and aliases, explicit tags, merge keys, several documents, an empty stream, a key that
cannot be a dict key, any error) is left to `yaml.load`, which then gives the value or raises its
own error: the result is always PyYAML's."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
    SequenceStartEvent, StreamEndEvent, StreamStartEvent,
)
from yaml.nodes import ScalarNode

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it
_STR = "tag:yaml.org,2002:str"
# The implicit tags whose values are immutable (so one value may serve every scalar that reads alike).
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp"))
_CACHE_LIMIT = 10_000
_NO_KEY = object()


class _Unusual(Exception):
    """Something yaml.load should decide."""


def load(text: str, loader: Any = LOADER) -> Any:
    """`yaml.load(text, Loader=loader)`, faster on documents without anchors, tags or merge keys."""
    try:
        return _from_events(text, loader)
    except Exception:  # noqa: BLE001 — unusual or broken: PyYAML's own load gives the value or the error
        pass
    return yaml.load(text, Loader=loader)  # noqa: S506 — a safe loader (CSafeLoader or SafeLoader)


def _from_events(text: str, loader: Any) -> Any:
    parser = loader(text)
    try:
        get_event = parser.get_event
        if type(get_event()) is not StreamStartEvent or type(get_event()) is not DocumentStartEvent:
            raise _Unusual
        value = _document(get_event, parser)
        if type(get_event()) is not DocumentEndEvent or type(get_event()) is not StreamEndEvent:
            raise _Unusual
        return value
    finally:
        parser.dispose()


def _document(get_event: Any, parser: Any) -> Any:
    resolve, constructors = parser.resolve, parser.yaml_constructors
    known: dict[str, Any] = {}  # plain scalar -> its value

    def plain(text: str) -> Any:
        tag = resolve(ScalarNode, text, (True, False))
        if tag == _STR:
            value: Any = text
        elif tag in _SCALARS:
            value = constructors[tag](parser, ScalarNode(tag, text))
        else:  # a merge key (<<), a value key (=), or a resolver someone added
            raise _Unusual
        if len(known) < _CACHE_LIMIT:
            known[text] = value
        return value

    # The open collections, innermost last: [the dict or list, the key read and waiting for its value].
    stack: list[list[Any]] = []
    while True:
        event = get_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                raise _Unusual
            value = event.value
            if event.implicit[0]:  # plain: its tag is resolved from its text
                if value.isdigit() and value.isascii() and (value[0] != "0" or value == "0"):
                    value = int(value)  # a decimal integer, as construct_yaml_int reads it
                else:
                    found = known.get(value, _NO_KEY)
                    value = plain(value) if found is _NO_KEY else found
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None:
                raise _Unusual
            stack.append([{} if kind is MappingStartEvent else [], _NO_KEY])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = stack.pop()[0]
        else:  # an alias, or what no document holds
            raise _Unusual
        if not stack:
            return value
        top = stack[-1]
        collection = top[0]
        if type(collection) is list:
            collection.append(value)
        elif top[1] is _NO_KEY:
            top[1] = value
        else:
            collection[top[1]] = value  # TypeError for a key no dict takes: yaml.load says what is wrong
            top[1] = _NO_KEY
