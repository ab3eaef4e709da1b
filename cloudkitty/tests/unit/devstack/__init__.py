"""The DevStack plugin (``devstack/plugin.sh`` and ``devstack/settings``).

DevStack cannot run here, so each phase is run under bash against recorded
stand-ins of the DevStack helpers (``cloudkitty/tests/devstack_fakes``):
the tests check the helper calls and commands the plugin issues, and the
configuration files it writes, parsed both as plain ini files and with
CloudKitty's own option definitions. The plugin is also checked with
shellcheck and bashate. The runs with real commands and services are in
``tests/functional/test_devstack_plugin.py``.
"""
