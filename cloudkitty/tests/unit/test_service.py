"""prepare_service: configuration errors name file, section, option and
reason; start-up checks run after parsing."""
from __future__ import annotations

import pathlib
import subprocess
import sys
from typing import Any

import pytest
from oslo_config import cfg

from cloudkitty import exceptions, service
from cloudkitty.collector import metrics


def prepare(tmp_path: pathlib.Path, text: str, checks: Any = ()
            ) -> cfg.ConfigOpts:
    path = tmp_path / "cloudkitty.conf"
    path.write_text(text)
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(), checks=checks,
                                   setup_logging=False)


def error_of(tmp_path: pathlib.Path, text: str, checks: Any = ()
             ) -> exceptions.ConfigError:
    with pytest.raises(exceptions.ConfigError) as info:
        prepare(tmp_path, text, checks)
    assert "\n" not in str(info.value)
    return info.value


def where(error: exceptions.ConfigError) -> tuple[Any, ...]:
    return (error.file, error.section, error.option, error.reason)


def test_valid_file_is_parsed(tmp_path: pathlib.Path) -> None:
    conf = prepare(tmp_path, "[collect]\nperiod = 600\n")
    assert conf.collect.period == 600


def test_bad_integer(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[collect]\nperiod = hourly\n")
    assert where(error) == (
        str(tmp_path / "cloudkitty.conf"), "collect", "period",
        "invalid value: invalid literal for int() with base 10: 'hourly'")
    assert str(error) == (
        f"file {tmp_path / 'cloudkitty.conf'}, section [collect], option "
        "period: invalid value: invalid literal for int() with base 10: "
        "'hourly'")


def test_integer_out_of_range(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path,
                     "[orchestrator]\ncollector_request_timeout = 5\n")
    assert where(error) == (
        str(tmp_path / "cloudkitty.conf"), "orchestrator",
        "collector_request_timeout",
        "invalid value: Should be greater than or equal to 30")


def test_bad_choice(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[DEFAULT]\nauth_strategy = basic\n")
    assert where(error) == (
        str(tmp_path / "cloudkitty.conf"), "DEFAULT", "auth_strategy",
        "invalid value: Valid values are [noauth, keystone], but found "
        "'basic'")


def test_bad_boolean(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[api]\npecan_debug = maybe\n")
    assert (error.section, error.option) == ("api", "pecan_debug")
    assert error.reason.startswith("invalid value: ")


def test_unknown_storage_backend(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[storage]\nbackend = mongodb\n",
                     checks=[service.check_storage_backend])
    assert where(error) == (
        str(tmp_path / "cloudkitty.conf"), "storage", "backend",
        "unknown storage backend 'mongodb' (available: influxdb, sqlalchemy)")


def test_known_storage_backend_passes(tmp_path: pathlib.Path) -> None:
    conf = prepare(tmp_path, "[storage]\nbackend = sqlalchemy\n",
                   checks=[service.check_storage_backend])
    assert conf.storage.backend == "sqlalchemy"


def test_unparseable_file(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[collect]\nperiod = 60\n[storage\n")
    assert where(error) == (
        str(tmp_path / "cloudkitty.conf"), None, None,
        "cannot parse line 3: Invalid section (must end with ]): "
        "'[storage'")


def test_line_without_assignment(tmp_path: pathlib.Path) -> None:
    error = error_of(tmp_path, "[collect]\nperiod\n")
    assert error.reason == ("cannot parse line 2: No ':' or '=' found in "
                            "assignment: 'period'")


def test_missing_file(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "absent.conf")
    with pytest.raises(exceptions.ConfigError) as info:
        service.prepare_service(["--config-file", path],
                                conf=cfg.ConfigOpts(), setup_logging=False)
    assert where(info.value) == (path, None, None,
                                 "file not found or unreadable")
    assert str(info.value) == f"file {path}: file not found or unreadable"


def test_metrics_check_names_the_metrics_file(tmp_path: pathlib.Path
                                              ) -> None:
    metrics_file = tmp_path / "metrics.yml"
    metrics_file.write_text(
        "metrics:\n  cpu:\n    unit: instance\n    factor: lots\n")
    error = error_of(tmp_path,
                     f"[collect]\nmetrics_conf = {metrics_file}\n",
                     checks=[metrics.check_metrics_conf])
    assert isinstance(error, exceptions.InvalidMetricsConfig)
    assert where(error) == (
        str(metrics_file), "cpu", "factor",
        "expected a number or an 'a/b' fraction, got 'lots'")


def test_metrics_check_on_a_missing_metrics_file(tmp_path: pathlib.Path
                                                 ) -> None:
    absent = tmp_path / "absent.yml"
    error = error_of(tmp_path, f"[collect]\nmetrics_conf = {absent}\n",
                     checks=[metrics.check_metrics_conf])
    assert str(error) == (f"file {absent}: cannot read the file: No such "
                          "file or directory")


def test_checks_run_in_order_after_parsing(tmp_path: pathlib.Path) -> None:
    seen: list[int] = []
    conf = prepare(tmp_path, "[collect]\nperiod = 60\n", checks=[
        lambda c: seen.append(c.collect.period),
        lambda c: seen.append(2 * c.collect.period)])
    assert seen == [60, 120]
    assert conf.collect.period == 60


def test_registering_twice_is_harmless(tmp_path: pathlib.Path) -> None:
    conf = cfg.ConfigOpts()
    path = tmp_path / "c.conf"
    path.write_text("")
    service.prepare_service(["--config-file", str(path)], conf=conf,
                            setup_logging=False)
    from cloudkitty import conf as ck_conf
    ck_conf.register_opts(conf)
    assert conf.collect.period == 3600


def test_console_script_prints_one_line_for_a_bad_choice(
        tmp_path: pathlib.Path) -> None:
    """A real console script exits 1 with the error on one line of stderr
    and no traceback."""
    conf_file = tmp_path / "cloudkitty.conf"
    conf_file.write_text("[DEFAULT]\nauth_strategy = ldap\n")
    script = pathlib.Path(sys.executable).parent / "cloudkitty-status"
    proc = subprocess.run([str(script), "--config-file", str(conf_file),
                           "upgrade", "check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr == (
        f"cloudkitty-status: configuration error: file {conf_file}, "
        "section [DEFAULT], option auth_strategy: invalid value: Valid "
        "values are [noauth, keystone], but found 'ldap'\n")
