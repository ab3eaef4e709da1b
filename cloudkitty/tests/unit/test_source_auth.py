"""keystoneauth options of the collector and fetcher groups: registered at
start-up for the collector and fetcher the configuration selects, for none
in the API, always listed for oslo-config-generator."""
from __future__ import annotations

import pathlib

import pytest
from oslo_config import cfg

from cloudkitty import conf as ck_conf
from cloudkitty import exceptions, service
from cloudkitty.conf import _keystone, opts

_GROUPS = ("collector_gnocchi", "fetcher_keystone", "fetcher_gnocchi")


def _prepare(tmp_path: pathlib.Path, text: str,
             **kwargs: bool) -> cfg.ConfigOpts:
    path = tmp_path / "cloudkitty.conf"
    path.write_text(text)
    return service.prepare_service(["--config-file", str(path)],
                                   conf=cfg.ConfigOpts(),
                                   setup_logging=False, **kwargs)


def _with_auth(conf: cfg.ConfigOpts) -> set[str]:
    return {group for group in _GROUPS if "auth_type" in conf[group]}


@pytest.mark.parametrize(("collector", "fetcher", "expected"), [
    ("gnocchi", "keystone", {"collector_gnocchi", "fetcher_keystone"}),
    ("gnocchi", "gnocchi", {"collector_gnocchi", "fetcher_gnocchi"}),
    ("prometheus", "keystone", {"fetcher_keystone"}),
    ("prometheus", "source", set()),
    ("prometheus", "prometheus", set()),
])
def test_selected_groups_get_keystone_options(
        tmp_path: pathlib.Path, collector: str, fetcher: str,
        expected: set[str]) -> None:
    conf = _prepare(tmp_path, f"[collect]\ncollector = {collector}\n"
                              f"[fetcher]\nbackend = {fetcher}\n")
    assert _with_auth(conf) == expected


def test_defaults_select_gnocchi_and_keystone(tmp_path) -> None:
    conf = _prepare(tmp_path, "")
    assert _with_auth(conf) == {"collector_gnocchi", "fetcher_keystone"}


def test_api_registers_none(tmp_path) -> None:
    conf = _prepare(tmp_path, "[collect]\ncollector = gnocchi\n",
                    source_auth=False)
    assert _with_auth(conf) == set()
    # The group's own options are there.
    assert conf.collector_gnocchi.gnocchi_auth_type == "keystone"


def test_selected_group_values_are_read_and_checked(tmp_path) -> None:
    conf = _prepare(tmp_path, "[fetcher_keystone]\nauth_section = shared\n"
                              "timeout = 7\n")
    assert conf.fetcher_keystone.auth_section == "shared"
    assert conf.fetcher_keystone.timeout == 7
    with pytest.raises(exceptions.ConfigError) as caught:
        _prepare(tmp_path, "[collector_gnocchi]\ntimeout = soon\n")
    assert caught.value.section == "collector_gnocchi"
    assert caught.value.option == "timeout"


def test_register_opts_alone_registers_every_group() -> None:
    conf = cfg.ConfigOpts()
    ck_conf.register_opts(conf, source_auth=False)
    assert not any("auth_type" in conf[group] for group in _GROUPS)
    ck_conf.register_opts(conf)
    conf([])
    assert all("auth_type" in conf[group] for group in _GROUPS)


def test_load_auth_of_a_group_start_up_left_out(tmp_path) -> None:
    conf = _prepare(tmp_path, "[collect]\ncollector = prometheus\n"
                              "[fetcher]\nbackend = source\n")
    assert _keystone.load_auth(conf, "fetcher_gnocchi") is None
    assert "auth_type" in conf.fetcher_gnocchi


def test_sample_lists_keystone_options_of_every_group() -> None:
    listed = {group: {opt.dest for opt in group_opts}
              for group, group_opts in opts.list_opts()}
    for group in _GROUPS:
        assert {"auth_type", "auth_section", "cafile",
                "timeout"} <= listed[group], group
