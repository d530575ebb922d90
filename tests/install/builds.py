"""The install tests' slow first steps, started in the background as soon as the session knows it
will run them (tests/conftest.py): the sdist and the wheel built with `python -m build`, then each
installed into a fresh virtualenv with no extras, one step at a time, while the other tests run.
The install tests wait for them and take it from there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import venv
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.helpers import ROOT

KINDS = ("wheel", "sdist")


def run(*cmd, check=True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    if check:
        assert result.returncode == 0, f"{cmd}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


class Venv:
    def __init__(self, path: Path):
        venv.create(path, with_pip=True, clear=True)
        self.path = path
        self.bin = path / "bin"
        # Nothing of this project's own environment may leak in.
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env["PATH"] = f"{self.bin}:{self.env['PATH']}"

    def pip_install(self, *what: str) -> None:
        run(self.bin / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *what, env=self.env)

    def sandbox(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return run(self.bin / "partner-sandbox", *args, env=self.env, **kwargs)


def artifact(dist: Path, kind: str) -> Path:
    return next(dist.glob("*.whl" if kind == "wheel" else "*.tar.gz"))


class Builds:
    """`dist()`: the directory with the sdist and the wheel (built from that sdist, as a user's pip
    would); `plain(kind)`: a fresh venv with that artifact installed, no extras."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sandbox-install-"))
        self._steps = ThreadPoolExecutor(max_workers=1, thread_name_prefix="install-builds")
        self._dist: Future[Path] = self._steps.submit(self._build)
        self._plain = {kind: self._steps.submit(self._install, kind) for kind in KINDS}

    def _build(self) -> Path:
        out = self.root / "dist"
        run(sys.executable, "-m", "build", "--outdir", out, ROOT)
        return out

    def _install(self, kind: str) -> Venv:
        env = Venv(self.root / f"venv-{kind}")
        env.pip_install(str(artifact(self._dist.result(), kind)))
        return env

    def dist(self) -> Path:
        return self._dist.result()

    def plain(self, kind: str) -> Venv:
        return self._plain[kind].result()

    def close(self) -> None:
        self._steps.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
