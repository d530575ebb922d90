"""Regular expressions as OpenAPI means them (ECMA-262), in Python. They differ where it matters
for validation: ECMA's `$` (no multiline flag) matches only at the very end of the input, Python's
also before a final newline, so `^[a-z]+$` would let `"acme\n"` through. Every pattern the sandbox
checks, from a spec or of its own, is compiled here."""

from __future__ import annotations

import functools
import re


def python_syntax(pattern: str) -> str:
    """The pattern with each `$` anchor (outside a character class, not escaped) written `\\Z`."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # `[]...]`: a literal ] first in the class
                out.append("[]")
                i += 2
                continue
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile(pattern: str, flags: int = 0) -> re.Pattern:  # noqa: A001 (the module's one verb)
    return re.compile(python_syntax(pattern), flags)


def pattern_keyword(validator, regex: str, instance, schema):
    """jsonschema's `pattern` keyword with the ECMA meaning, for `jsonschema.validators.extend`."""
    import jsonschema

    if validator.is_type(instance, "string") and not compile(regex).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")
