"""The pages' Jinja2 environment: the templates of templates/, autoescaped, each page one line of HTML."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension

from ...domain.clock import rfc3339
from .assets import COUNTDOWN_SCRIPT, DASHBOARD_SCRIPT, DASHBOARD_STYLE, EMBED_SCRIPT, STYLE

_LAYOUT = re.compile(r"\n[ \t]*")


class OneLine(Extension):
    """A template's line breaks and the indentation after them are its source's layout, not the
    page's: they are dropped before the template is compiled, so no whitespace the layout would add
    stands between a page's elements (the DOM is the one the pages always had). Break a template's
    lines only between tags; a space that belongs to the page is written on a line."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _LAYOUT.sub("", source)


ENVIRONMENT = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    extensions=[OneLine],
)
ENVIRONMENT.filters["rfc3339"] = rfc3339
# What base.html inlines: the same text policy.py hashes.
ENVIRONMENT.globals.update(style=STYLE, countdown_script=COUNTDOWN_SCRIPT, embed_script=EMBED_SCRIPT,
                           dashboard_style=DASHBOARD_STYLE, dashboard_script=DASHBOARD_SCRIPT)


def render(template: str, **context) -> str:
    return ENVIRONMENT.get_template(template).render(**context)
