"""The plugin's shell files pass shellcheck and bashate."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from cloudkitty.tests.devstack_fakes import FAKES, PLUGIN_DIR, REPO
from cloudkitty.tests.services import REQUIRED
from cloudkitty.tests.unit.devstack.helpers import venv_bin


def _tool(name: str, venv: bool = False) -> str:
    path = (shutil.which(name, path=str(venv_bin())) if venv else None) \
        or shutil.which(name)
    if path is None:
        if REQUIRED:
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


SHELL_FILES = [PLUGIN_DIR / "plugin.sh", PLUGIN_DIR / "settings",
               FAKES / "functions.sh", FAKES / "run-phases.sh"]


def test_shellcheck() -> None:
    proc = subprocess.run(
        [_tool("shellcheck"), "--external-sources", *map(str, SHELL_FILES)],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bashate() -> None:
    # Long lines are accepted, as in DevStack itself; the settings file is
    # sourced, not run, so it has no "#!" line.
    bashate = _tool("bashate", venv=True)
    for path, ignore in ((PLUGIN_DIR / "plugin.sh", "E006"),
                         (PLUGIN_DIR / "settings", "E006,E005")):
        proc = subprocess.run(
            [bashate, "--ignore", ignore, "--error", "E*", str(path)],
            capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
