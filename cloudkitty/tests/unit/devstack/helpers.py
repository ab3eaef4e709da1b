"""What the DevStack plugin tests share (unit and functional)."""
from __future__ import annotations

import pathlib
import sys

import pytest

from cloudkitty.tests.devstack_fakes import Devstack


@pytest.fixture
def devstack(tmp_path: pathlib.Path) -> Devstack:
    """A fresh DevStack tree of stand-ins under ``tmp_path``."""
    return Devstack(tmp_path)


def venv_bin() -> pathlib.Path:
    """The bin directory of the Python running the tests (the real
    console scripts)."""
    return pathlib.Path(sys.executable).parent
