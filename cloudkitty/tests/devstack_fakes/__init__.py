"""Run the DevStack plugin's phases against recorded DevStack helpers.

``functions.sh`` stands in for DevStack's helper functions (each call is
recorded; ``iniset`` and friends write real ini files) and
``run-phases.sh`` sources the plugin once per phase as ``stack.sh`` does.
:class:`Devstack` runs phases in a throw-away tree and returns a
:class:`Run` with the recorded calls; :func:`load_conf` reads a written
``cloudkitty.conf`` with CloudKitty's option definitions (and those of the
libraries it loads) and :func:`unknown_options` lists what none defines.
"""
from __future__ import annotations

import configparser
import dataclasses
import itertools
import os
import pathlib
import pwd
import subprocess
from collections.abc import Iterable

from keystoneauth1 import loading as ks_loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_messaging import opts as messaging_opts
from oslo_middleware import opts as middleware_opts
from oslo_policy import opts as policy_opts

from cloudkitty import conf as ck_conf
from cloudkitty import service
from cloudkitty.api import app

__all__ = ["Call", "Devstack", "FAKES", "KEYSTONE_URI", "PLUGIN_DIR", "REPO",
           "Run", "SERVICE_HOST", "STACK", "STACK_USER", "load_conf",
           "read_ini", "unknown_options"]

REPO = pathlib.Path(__file__).resolve().parents[3]
PLUGIN_DIR = REPO / "devstack"
FAKES = pathlib.Path(__file__).resolve().parent
RUNNER = FAKES / "run-phases.sh"
SEP = "\x1f"

STACK = ("stack pre-install", "stack install", "stack post-config",
         "stack extra")
SERVICE_HOST = "192.0.2.10"
KEYSTONE_URI = f"http://{SERVICE_HOST}/identity"
#: DevStack's user, the owner of the directories the plugin creates.
STACK_USER = pwd.getpwuid(os.getuid()).pw_name

Call = tuple[str, ...]


@dataclasses.dataclass
class Run:
    """The outcome of one run of the plugin's phases."""

    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]
    conf_dir: pathlib.Path
    data_dir: pathlib.Path
    bin_dir: pathlib.Path
    horizon_enabled: pathlib.Path

    @property
    def conf_path(self) -> pathlib.Path:
        return self.conf_dir / "cloudkitty.conf"

    @property
    def uwsgi_path(self) -> pathlib.Path:
        return self.conf_dir / "cloudkitty-api-uwsgi.ini"

    def args(self, name: str) -> list[Call]:
        """Arguments of every call of ``name``, in order."""
        return [call[1:] for call in self.calls if call[0] == name]

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]

    def in_phase(self, phase: str) -> list[Call]:
        """The calls made while ``phase`` ran."""
        result: list[Call] = []
        current = None
        for call in self.calls:
            if call[0] == "phase":
                current = call[1]
            elif current == phase:
                result.append(call)
        return result

    def index(self, call: Call) -> int:
        return self.calls.index(call)

    def ini(self, path: pathlib.Path | None = None
            ) -> configparser.ConfigParser:
        return read_ini(path or self.conf_path)


def read_ini(path: pathlib.Path) -> configparser.ConfigParser:
    """Parse an ini file strictly (a duplicated section or option fails),
    with ``[DEFAULT]`` as an ordinary section."""
    parser = configparser.ConfigParser(
        interpolation=None, default_section="\0none", strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    with path.open() as stream:
        parser.read_file(stream)
    return parser


class Devstack:
    """Runs phases of the plugin in a throw-away directory tree."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.conf_dir = root / "etc" / "cloudkitty"
        self.data_dir = root / "var" / "lib" / "cloudkitty"
        self.dest = root / "opt" / "stack"
        self.horizon_dir = self.dest / "horizon"
        self.dashboard_dir = self.dest / "cloudkitty-dashboard"
        self.stub_bin = root / "bin"
        self.log = root / "calls.log"
        (self.horizon_dir / "openstack_dashboard" / "local" / "enabled"
         ).mkdir(parents=True)
        enabled = self.dashboard_dir / "cloudkittydashboard" / "enabled"
        enabled.mkdir(parents=True)
        for name in ("_11_admin_rating_panel.py",
                     "_13_project_rating_panel.py", "__init__.py"):
            (enabled / name).write_text("# panel\n")

    def run(self, *phases: str, **variables: str) -> Run:
        """Run ``phases`` in one shell; ``variables`` are set in the
        environment, as local.conf would set them."""
        return self._run(phases, None, variables)

    def run_real(self, bin_dir: pathlib.Path, *phases: str,
                 **variables: str) -> Run:
        """As :meth:`run`, with the commands of ``bin_dir`` in place of the
        recording stubs of the Python bin directory."""
        return self._run(phases, bin_dir, variables)

    def _run(self, phases: Iterable[str], bin_dir: pathlib.Path | None,
             variables: dict[str, str]) -> Run:
        self.log.unlink(missing_ok=True)
        stubs = bin_dir is None
        bin_path = self.stub_bin if bin_dir is None else bin_dir
        env = {
            "PATH": os.pathsep.join([str(bin_path), "/usr/bin", "/bin"]),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "FAKE_DEVSTACK_LOG": str(self.log),
            "FAKE_BIN_DIR": str(bin_path),
            "FAKE_BIN_STUBS": "1" if stubs else "0",
            "DEST": str(self.dest),
            "SERVICE_HOST": SERVICE_HOST,
            "KEYSTONE_SERVICE_URI": KEYSTONE_URI,
            "HORIZON_DIR": str(self.horizon_dir),
            "TEMPEST_CONFIG": str(self.root / "tempest.conf"),
            "CLOUDKITTY_DIR": str(REPO),
            "CLOUDKITTY_CONF_DIR": str(self.conf_dir),
            "CLOUDKITTY_DATA_DIR": str(self.data_dir),
        }
        env.update(variables)
        proc = subprocess.run(
            ["bash", str(RUNNER), str(PLUGIN_DIR), *phases],
            cwd=self.root, env=env, capture_output=True, text=True,
            timeout=120, check=False)
        calls = ([tuple(line.split(SEP)) for line in
                  self.log.read_text().splitlines()]
                 if self.log.exists() else [])
        return Run(proc.returncode, proc.stdout, proc.stderr, calls,
                   self.conf_dir, self.data_dir, bin_path,
                   self.horizon_dir / "openstack_dashboard" / "local"
                   / "enabled")

    def stack(self, **variables: str) -> Run:
        """A whole ``stack.sh`` run of the plugin, which must succeed."""
        result = self.run(*STACK, **variables)
        assert result.returncode == 0, result.stderr
        return result


# -- configuration checked with CloudKitty's option definitions -------------

def _library_options() -> Iterable[tuple[str | None, list[cfg.Opt]]]:
    """Options of the libraries the services load at run time."""
    return itertools.chain(
        auth_token.list_opts(), messaging_opts.list_opts(),
        policy_opts.list_opts(),
        middleware_opts.list_opts_http_proxy_to_wsgi())


def load_conf(path: pathlib.Path) -> cfg.ConfigOpts:
    """``path`` read as the services read it: CloudKitty's options with
    their start-up checks, plus the options of keystonemiddleware,
    oslo.messaging, oslo.policy, oslo.middleware and the keystoneauth
    password plugin of the sections that use it. The keystoneauth options
    of every collector and fetcher group are defined, whichever the file
    selects, as the file serves the API and the processor alike."""
    conf = service.prepare_service(
        ["--config-file", str(path)], conf=cfg.ConfigOpts(),
        checks=app.API_CHECKS, setup_logging=False, source_auth=False)
    ck_conf.register_source_auth(conf, ck_conf.SOURCE_AUTH)
    for group, opts in _library_options():
        conf.register_opts(opts, group=group)
    for group in ("keystone_authtoken", "authinfos"):
        if group == "authinfos":
            ks_loading.register_auth_conf_options(conf, group)
        names = set(conf[group].keys())
        conf.register_opts(
            [opt for opt in ks_loading.get_auth_plugin_conf_options("password")
             if opt.dest not in names], group=group)
    return conf


def unknown_options(conf: cfg.ConfigOpts,
                    parser: configparser.ConfigParser) -> list[str]:
    """The ``section.option`` names of the file no definition knows."""
    unknown = []
    for section in parser.sections():
        for option in parser[section]:
            try:
                if section == "DEFAULT":
                    conf[option]
                else:
                    conf[section][option]
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
                unknown.append(f"{section}.{option}")
    return unknown
