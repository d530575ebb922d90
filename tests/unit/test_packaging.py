"""`pip install .` must carry everything `serve` needs: the wheel holds the specs, fixtures and handlers."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.helpers import ROOT


def test_the_wheel_carries_specs_fixtures_handlers_and_the_command(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("partner_sandbox-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ["partner_sandbox/data/openapi.yaml", "partner_sandbox/data/sandbox.yaml",
                   "partner_sandbox/data/fixtures/default.yaml", "partner_sandbox/handlers/qr.py", "partner_sandbox/handlers/controls.py",
                   "partner_sandbox/cli.py", "partner_sandbox/data/public_api.yaml",
                   "partner_sandbox/handlers/public_messages.py"]:
        assert needed in names, needed
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"partner_sandbox"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "partner-sandbox = partner_sandbox.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    for packaged in ["openapi.yaml", "sandbox.yaml", "public_api.yaml", "fixtures/default.yaml"]:
        assert zipfile.ZipFile(wheel).read(f"partner_sandbox/data/{packaged}") == (ROOT / packaged).read_bytes()
