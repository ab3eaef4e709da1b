"""``unstack`` and ``clean``."""
from __future__ import annotations

from cloudkitty.tests.devstack_fakes import Devstack


def test_unstack_then_clean(devstack: Devstack) -> None:
    devstack.stack()
    enabled = devstack.horizon_dir / "openstack_dashboard" / "local" / \
        "enabled"
    (enabled / "_10_other_panel.py").write_text("# another plugin\n")

    unstack = devstack.run("unstack")
    assert unstack.returncode == 0, unstack.stderr
    assert unstack.args("stop_process") == [("ck-api",), ("ck-proc",)]
    # unstack keeps the configuration for the next stack.
    assert unstack.conf_path.exists()

    clean = devstack.run("unstack", "clean")
    assert clean.returncode == 0, clean.stderr
    assert clean.args("remove_uwsgi_config") == [
        (str(clean.uwsgi_path), "cloudkitty-api")]
    assert not clean.conf_dir.exists()
    assert not clean.data_dir.exists()
    assert sorted(p.name for p in enabled.iterdir()) == [
        "_10_other_panel.py"]
