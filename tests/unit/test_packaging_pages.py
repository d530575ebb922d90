"""The wheel carries what the pages need: pages.yaml (as partner_sandbox/data/pages.yaml, like the
other specs), their handlers, templates and inline assets; unpacked, the pages find them there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from tests.helpers import ROOT, TEST_WORLD

PAGES = "partner_sandbox/web/pages"
# Run from the unpacked wheel alone: the routes come from its pages.yaml, a page from its templates.
FROM_THE_WHEEL = f"""
import partner_sandbox, sys
from partner_sandbox.resources import pages_spec_path
from partner_sandbox.settings import Settings
from partner_sandbox.web.app import create_app
from partner_sandbox.web.pages import views
assert partner_sandbox.__file__.startswith(sys.argv[1]), partner_sandbox.__file__
assert pages_spec_path().as_posix().endswith("partner_sandbox/data/pages.yaml"), pages_spec_path()
app = create_app(Settings(db=sys.argv[2], fixtures={str(TEST_WORLD)!r}))
print(sorted(r.name for r in app._middleware_app.router.routes if r.path.startswith("/qr/")))
print(views.not_found_page().body.decode())
"""


def test_the_wheel_carries_the_pages_spec_handlers_templates_and_assets(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = zipfile.ZipFile(next(tmp_path.glob("partner_sandbox-*.whl")))
    names = set(wheel.namelist())
    assert wheel.read("partner_sandbox/data/pages.yaml") == (ROOT / "pages.yaml").read_bytes()
    assert "partner_sandbox/handlers/pages.py" in names
    for folder in ("templates", "assets"):
        written = {p.relative_to(ROOT).as_posix() for p in (ROOT / PAGES / folder).iterdir() if p.is_file()}
        assert written and written <= names, written - names
    requires = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: jinja2>=3.1" in requires

    unpacked = tmp_path / "unpacked"
    wheel.extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    run = subprocess.run([sys.executable, "-c", FROM_THE_WHEEL, str(unpacked), str(tmp_path / "sandbox.db")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    routes, page = run.stdout.split("\n", 1)
    assert routes == str(sorted(["getLinkPage", "getScanConfirmation", "scanLink", "getLinkFlow", "startQRFlow",
                                 "requestPairingCode", "scanQRImage"]))
    assert "<title>Unknown QR link</title>" in page and "<script>const el=" in page
