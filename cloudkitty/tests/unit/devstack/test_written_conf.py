"""The configuration the plugin writes is one CloudKitty reads: every
option is defined, and the values pass CloudKitty's own checks."""
from __future__ import annotations

import pytest

from cloudkitty.collector import metrics
from cloudkitty.conf import _keystone
from cloudkitty.tests.devstack_fakes import (
    KEYSTONE_URI,
    Devstack,
    load_conf,
    unknown_options,
)

CHOICES = [
    {},
    {"CLOUDKITTY_FETCHER": "keystone"},
    {"CLOUDKITTY_COLLECTOR": "prometheus", "CLOUDKITTY_FETCHER": "prometheus",
     "CLOUDKITTY_STORAGE_BACKEND": "sqlalchemy",
     "CLOUDKITTY_USE_UWSGI": "False"},
    {"CLOUDKITTY_INFLUXDB_USER": "ck", "CLOUDKITTY_INFLUXDB_PASSWORD": "pw",
     "CLOUDKITTY_AUTH_STRATEGY": "noauth"},
]


@pytest.mark.parametrize("variables", CHOICES,
                         ids=lambda v: ",".join(f"{k[11:]}={x}" for k, x in
                                                v.items()) or "defaults")
def test_every_option_written_is_defined(devstack: Devstack,
                                         variables: dict[str, str]) -> None:
    result = devstack.stack(**variables)
    parser = result.ini()
    conf = load_conf(result.conf_path)
    assert unknown_options(conf, parser) == []
    assert conf.fetcher.backend == parser["fetcher"]["backend"]
    assert conf.collect.collector == parser["collect"]["collector"]
    assert conf.collect.wait_periods == 0
    assert conf.storage.version == 2
    # The metrics file copied for the collector passes its validation.
    metrics.check_metrics_conf(conf)
    # Groups pointing at the shared section get Keystone credentials.
    for group in ("collector_gnocchi", "fetcher_gnocchi", "fetcher_keystone"):
        if group in parser:
            plugin = _keystone.load_auth(conf, group)
            assert plugin is not None
            assert plugin.auth_url == KEYSTONE_URI
