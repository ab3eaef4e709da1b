"""``cloudkitty-status upgrade check``: each check and the command."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_upgradecheck import upgradecheck

from cloudkitty.cli import status
from cloudkitty.db import api as db_api
from cloudkitty.db import migration

ROOT = pathlib.Path(__file__).parents[3]
SHIPPED_METRICS = ROOT / "etc" / "cloudkitty" / "metrics.yml"
SUCCESS = upgradecheck.Code.SUCCESS
WARNING = upgradecheck.Code.WARNING
FAILURE = upgradecheck.Code.FAILURE


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    db_api.dispose_engines()


@pytest.fixture
def db_url(tmp_path: pathlib.Path) -> str:
    """A fresh SQLite file: the checks read the schema the same way on
    every dialect, so one suffices here."""
    return f"sqlite:///{tmp_path}/ck.sqlite"


@pytest.fixture
def settings(db_url: str) -> dict[str, dict[str, object]]:
    """A configuration every check passes with, once the schema exists."""
    return {
        "database": {"connection": db_url},
        "storage": {"backend": "sqlalchemy"},
        # The shipped metrics.yml, with the default collector it is
        # written for (Gnocchi).
        "collect": {"metrics_conf": str(SHIPPED_METRICS)},
    }


def checks(make_conf: Any, settings: dict[str, dict[str, object]]
           ) -> status.Checks:
    return status.Checks(make_conf(settings))


def migrate(url: str, revision: str = "head") -> None:
    migration.upgrade(db_api.create_engine(url), revision)


# -- storage version ---------------------------------------------------

def test_storage_version_2_succeeds(make_conf: Any, settings: Any) -> None:
    assert checks(make_conf, settings).storage_version().code == SUCCESS


def test_storage_version_1_fails_without_a_v1_backend(
        make_conf: Any, settings: Any) -> None:
    settings["storage"]["version"] = 1
    result = checks(make_conf, settings).storage_version()
    assert result.code == FAILURE
    assert "Set [storage] version = 2" in result.details


def test_storage_version_1_warns_when_a_v1_backend_is_installed(
        make_conf: Any, settings: Any, tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A real (if tiny) installed distribution declaring a v1 backend.
    dist = tmp_path / "site" / "ck_v1_backend-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ck-v1-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[cloudkitty.storage.v1.backends]\nsqlalchemy = os:getcwd\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    settings["storage"]["version"] = 1
    result = checks(make_conf, settings).storage_version()
    assert result.code == WARNING
    assert "deprecated" in result.details


# -- storage backend ---------------------------------------------------

def test_storage_backend(make_conf: Any, settings: Any) -> None:
    assert checks(make_conf, settings).storage_backend().code == SUCCESS
    settings["storage"]["backend"] = "nope"
    result = checks(make_conf, settings).storage_backend()
    assert result.code == FAILURE
    assert "section [storage], option backend: unknown storage backend " \
        "'nope'" in result.details


# -- policy file -------------------------------------------------------

def test_policy_file(make_conf: Any, settings: Any,
                     tmp_path: pathlib.Path) -> None:
    (tmp_path / "policy.json").write_text('{"context_is_admin": "role:x"}')
    (tmp_path / "policy.yaml").write_text('"context_is_admin": "role:x"\n')
    settings["oslo_policy"] = {"policy_file": str(tmp_path / "policy.yaml")}
    assert checks(make_conf, settings).policy_file().code == SUCCESS
    settings["oslo_policy"] = {"policy_file": str(tmp_path / "policy.json")}
    result = checks(make_conf, settings).policy_file()
    assert result.code == FAILURE
    assert "oslopolicy-convert-json-to-yaml" in result.details


# -- database schema ---------------------------------------------------

def test_database_at_head_succeeds(make_conf: Any, settings: Any,
                                   db_url: str) -> None:
    migrate(db_url)
    assert checks(make_conf, settings).database_schema().code == SUCCESS


def test_database_never_migrated_fails(make_conf: Any, settings: Any
                                       ) -> None:
    result = checks(make_conf, settings).database_schema()
    assert result.code == FAILURE
    assert "has not been migrated" in result.details
    assert result.details.endswith("Run 'cloudkitty-dbsync upgrade'.")


def test_database_behind_head_fails(make_conf: Any, settings: Any,
                                    db_url: str) -> None:
    migrate(db_url, "0001_baseline")
    result = checks(make_conf, settings).database_schema()
    assert result.code == FAILURE
    assert (f"is at revision 0001_baseline, this release needs "
            f"{migration.head_revision()}") in result.details
    assert "cloudkitty-dbsync upgrade" in result.details


def test_unreachable_database_fails(make_conf: Any, settings: Any,
                                    tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/ck.sqlite"
    settings["database"]["connection"] = url
    result = checks(make_conf, settings).database_schema()
    assert result.code == FAILURE
    assert result.details.startswith(
        f"Cannot read the schema version of {url}: ")
    assert "run 'cloudkitty-dbsync upgrade'" in result.details


def test_database_password_is_not_shown(make_conf: Any, settings: Any
                                        ) -> None:
    # Port 9 (discard) is closed here: the connection is refused at once.
    settings["database"]["connection"] = \
        "postgresql+psycopg2://ck:s3cret@127.0.0.1:9/ck"
    result = checks(make_conf, settings).database_schema()
    assert result.code == FAILURE
    assert "s3cret" not in result.details
    assert "ck:***@127.0.0.1:9/ck" in result.details


# -- metrics -----------------------------------------------------------

def test_metrics_conf(make_conf: Any, settings: Any,
                      tmp_path: pathlib.Path) -> None:
    assert checks(make_conf, settings).metrics_conf().code == SUCCESS
    bad = tmp_path / "bad.yml"
    bad.write_text("metrics:\n  cpu:\n    factor: 2\n")
    settings["collect"]["metrics_conf"] = str(bad)
    result = checks(make_conf, settings).metrics_conf()
    assert result.code == FAILURE
    assert result.details == (f"file {bad}, section [cpu], option unit: "
                              "required key is missing")
    settings["collect"]["metrics_conf"] = str(tmp_path / "none.yml")
    assert checks(make_conf, settings).metrics_conf().code == FAILURE


# -- the command -------------------------------------------------------

def _write_conf(tmp_path: pathlib.Path,
                sections: dict[str, dict[str, object]]) -> str:
    path = tmp_path / "cloudkitty.conf"
    path.write_text("".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
        for name, opts in sections.items()))
    return str(path)


def test_command_reports_every_check_as_json(
        settings: Any, db_url: str, tmp_path: pathlib.Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    migrate(db_url)
    path = _write_conf(tmp_path, settings)
    code = status.status(["--config-file", path, "upgrade", "check",
                          "--json"])
    output = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(c["check"], c["result"]) for c in output["checks"]] == [
        ("Storage version", 0), ("Storage backend", 0),
        ("Policy File JSON to YAML Migration", 0), ("Database schema", 0),
        ("Metrics configuration", 0)]


def test_command_exit_status_is_the_worst_result(
        settings: Any, tmp_path: pathlib.Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_conf(tmp_path, settings)  # schema never created
    code = status.status(["--config-file", path, "upgrade", "check"])
    out = capsys.readouterr().out
    assert code == 2
    assert "Check: Database schema" in out
    assert "Result: Failure" in out


def _script(name: str) -> str:
    return str(pathlib.Path(sys.executable).parent / name)


def test_console_script_with_a_bad_value_prints_one_line(
        tmp_path: pathlib.Path) -> None:
    path = _write_conf(tmp_path, {"collect": {"period": "hourly"}})
    proc = subprocess.run(
        [_script("cloudkitty-status"), "--config-file", path, "upgrade",
         "check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"cloudkitty-status: configuration error: file {path}, section "
        "[collect], option period: invalid value: invalid literal for "
        "int() with base 10: 'hourly'\n")


def test_console_script_succeeds_on_a_ready_deployment(
        settings: Any, db_url: str, tmp_path: pathlib.Path) -> None:
    migrate(db_url)
    path = _write_conf(tmp_path, settings)
    proc = subprocess.run(
        [_script("cloudkitty-status"), "--config-file", path, "upgrade",
         "check", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {c["result"] for c in json.loads(proc.stdout)["checks"]} == {0}
