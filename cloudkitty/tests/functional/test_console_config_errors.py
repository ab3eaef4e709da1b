"""Every console script stops on a configuration error with exit status 1
and exactly one line on stderr naming file, section, option and reason."""
from __future__ import annotations

import configparser
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[3]

#: Arguments that make each script do real work once configured.
_ARGS = {
    "cloudkitty-dbsync": ["upgrade"],
    "cloudkitty-status": ["upgrade", "check"],
}


def _scripts() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["entry_points"]["console_scripts"].strip().splitlines()
    return [line.split("=", 1)[0].strip() for line in lines]


SCRIPTS = _scripts()

CASES = {
    "bad-int": ("[collect]\nperiod = hourly\n",
                "section [collect], option period: invalid value: invalid "
                "literal for int() with base 10: 'hourly'"),
    "bad-choice": ("[DEFAULT]\nauth_strategy = ldap\n",
                   "section [DEFAULT], option auth_strategy: invalid value:"
                   " Valid values are [noauth, keystone], but found 'ldap'"),
    "unparseable": ("[collect\nperiod = 60\n",
                    "cannot parse line 1: Invalid section (must end with "
                    "]): '[collect'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("script", SCRIPTS)
def test_config_error_is_one_line(tmp_path: pathlib.Path, script: str,
                                  case: str) -> None:
    text, expected = CASES[case]
    conf_file = tmp_path / "cloudkitty.conf"
    conf_file.write_text(text)
    executable = pathlib.Path(sys.executable).parent / script
    proc = subprocess.run(
        [str(executable), "--config-file", str(conf_file),
         *_ARGS.get(script, [])],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    prefix = (f"file {conf_file}, " if case != "unparseable"
              else f"file {conf_file}: ")
    assert proc.stderr == (
        f"{script}: configuration error: {prefix}{expected}\n")


@pytest.mark.parametrize("script", SCRIPTS)
def test_missing_config_file_is_one_line(tmp_path: pathlib.Path,
                                         script: str) -> None:
    absent = tmp_path / "absent.conf"
    executable = pathlib.Path(sys.executable).parent / script
    proc = subprocess.run(
        [str(executable), "--config-file", str(absent),
         *_ARGS.get(script, [])],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (f"{script}: configuration error: file {absent}: "
                           "file not found or unreadable\n")
