"""The pages' inline style and scripts, read once from assets/ (policy.py hashes this very text)."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

_ASSETS = Path(__file__).resolve().parent / "assets"


def _inline(name: str) -> Markup:
    """A file of assets/ as inlined: trusted text, never escaped, without its surrounding blank space."""
    return Markup((_ASSETS / name).read_text(encoding="utf-8").strip())


STYLE = _inline("page.css")
# Counts down from the seconds the server computed on the partner's (possibly test) clock.
COUNTDOWN_SCRIPT = _inline("countdown.js")
# The embedded page's postMessage protocol with the partner's page (see the file).
EMBED_SCRIPT = _inline("embed.js")
# The dashboard at / (its own style and script: it shares nothing with the link pages).
DASHBOARD_STYLE = _inline("dashboard.css")
DASHBOARD_SCRIPT = _inline("dashboard.js")
