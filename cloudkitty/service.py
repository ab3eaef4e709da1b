"""Start-up of every process: register options once, parse, check, log."""
from __future__ import annotations

import importlib.metadata
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Sequence

from oslo_config import cfg
from oslo_log import log

from cloudkitty import conf as ck_conf
from cloudkitty import exceptions

LOG = log.getLogger(__name__)

#: A start-up check: receives the parsed configuration, raises ConfigError.
Check = Callable[[cfg.ConfigOpts], None]


_DETAIL = re.compile(r"detail='([^']*)'")


def option_file(conf: cfg.ConfigOpts, name: str,
                group: str | None = None) -> str | None:
    """Path of the file that set ``[group] name``, if a file did."""
    try:
        info = conf.get_location(name, group)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None
    except cfg.ConfigFileValueError as exc:
        found = _DETAIL.search(str(exc))
        return found.group(1) if found else None
    if info is None or info.location != cfg.Locations.user:
        return None
    return info.detail or None


def config_files(conf: cfg.ConfigOpts) -> str | None:
    """The configuration files in use, comma-separated."""
    files = list(conf.config_file or []) if "config_file" in conf else []
    return ", ".join(files) or None


def _value_error(conf: cfg.ConfigOpts, exc: Exception, group: str | None,
                 name: str) -> exceptions.ConfigError:
    return exceptions.ConfigError(
        _value_reason(exc),
        file=option_file(conf, name, group) or config_files(conf),
        section=group or "DEFAULT", option=name)


def check_values(conf: cfg.ConfigOpts) -> None:
    """Convert every registered option now, so a bad value fails at start-up
    with the file, section and option named rather than later, mid-work."""
    for key in list(conf.keys()):
        try:
            value = conf[key]
        except cfg.ConfigFileValueError as exc:
            raise _value_error(conf, exc, None, key) from None
        if not isinstance(value, cfg.ConfigOpts.GroupAttr):
            continue
        for name in list(value.keys()):
            try:
                value[name]
            except cfg.ConfigFileValueError as exc:
                raise _value_error(conf, exc, key, name) from None


def _value_reason(exc: Exception) -> str:
    text = str(exc)
    marker = " is not valid: "
    if marker in text:
        return "invalid value: " + text.split(marker, 1)[1]
    return text


_PARSE_AT = re.compile(r"^at .*:(\d+), (.*)$", re.DOTALL)


def _parse_reason(msg: str) -> str:
    # oslo.config says "at <file>:<line>, <problem>"; the file is named
    # by the error already.
    found = _PARSE_AT.match(msg)
    if found:
        return (f"cannot parse line {found.group(1)}: "
                + " ".join(found.group(2).split()))
    return "cannot parse: " + " ".join(msg.split())


def check_storage_backend(conf: cfg.ConfigOpts) -> None:
    """The configured storage backend must be an installed plugin."""
    namespace = f"cloudkitty.storage.v{conf.storage.version}.backends"
    available = sorted({ep.name for ep in
                        importlib.metadata.entry_points(group=namespace)})
    if conf.storage.backend not in available:
        raise exceptions.ConfigError(
            f"unknown storage backend '{conf.storage.backend}' "
            f"(available: {', '.join(available) or 'none'})",
            file=option_file(conf, "backend", "storage") or config_files(conf),
            section="storage", option="backend")


def run_checks(conf: cfg.ConfigOpts, checks: Iterable[Check]) -> None:
    """Run the start-up checks. Their errors are the whole report:
    stevedore's "Could not load ..." warnings are not printed, and an
    error naming no file names the configuration files."""
    noisy = logging.getLogger("stevedore")
    level = noisy.level
    noisy.setLevel(logging.CRITICAL)
    try:
        for check in checks:
            try:
                check(conf)
            except exceptions.ConfigError as exc:
                if exc.file or type(exc) is not exceptions.ConfigError:
                    raise
                raise exceptions.ConfigError(
                    exc.reason,
                    file=(option_file(conf, exc.option,
                                      None if exc.section == "DEFAULT"
                                      else exc.section)
                          if exc.option else None) or config_files(conf),
                    section=exc.section, option=exc.option) from None
    finally:
        noisy.setLevel(level)


def quiet_library_warnings() -> None:
    """Keep warnings about the libraries' own dependencies (oslo.messaging
    imports eventlet, which warns it is deprecated) off stderr, where an
    operator would take them for a problem of the service."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    warnings.filterwarnings("ignore", category=DeprecationWarning,
                            module=r"(oslo_\w+|eventlet)(\.|$)")


def prepare_service(argv: Sequence[str] | None = None,
                    config_files: Iterable[str] | None = None,
                    conf: cfg.ConfigOpts | None = None,
                    checks: Iterable[Check] = (),
                    setup_logging: bool = True,
                    source_auth: bool = True) -> cfg.ConfigOpts:
    """Register every option, parse the command line and files, check them.

    The global ``cfg.CONF`` is used unless ``conf`` is given: oslo.messaging
    registers some of its options there only. Code receives the returned
    object rather than importing the global.

    The keystoneauth options of a Keystone-authenticated collector or
    fetcher group (``cloudkitty.conf.SOURCE_AUTH``) are registered, once
    the files are read, for the collector and fetcher the configuration
    selects; ``source_auth=False`` (the API, which reads none of them)
    registers none, so keystoneauth and requests are not imported.

    Raises :class:`cloudkitty.exceptions.ConfigError` naming the file,
    section, option and reason when the configuration cannot be used.
    """
    conf = cfg.CONF if conf is None else conf
    quiet_library_warnings()
    ck_conf.register_opts(conf, source_auth=False)
    try:
        conf(list(argv or []), project="cloudkitty",
             default_config_files=(list(config_files)
                                   if config_files is not None else None),
             validate_default_values=True)
    except cfg.ConfigFilesNotFoundError as exc:
        raise exceptions.ConfigError(
            "file not found or unreadable",
            file=", ".join(exc.config_files)) from None
    except cfg.ConfigFileParseError as exc:
        raise exceptions.ConfigError(_parse_reason(exc.msg or ""),
                                     file=exc.config_file) from None
    except cfg.ConfigDirNotFoundError as exc:
        raise exceptions.ConfigError("directory not found",
                                     file=exc.config_dir) from None
    if source_auth:
        ck_conf.register_source_auth(conf, ck_conf.selected_source_auth(conf))
    check_values(conf)
    run_checks(conf, checks)
    if setup_logging:
        log.setup(conf, "cloudkitty")
    return conf
