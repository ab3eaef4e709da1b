"""Fetcher loading, the source fetcher, and the keystone fetcher's
configuration and transport failures (no Keystone needed: failures are
played by a local misbehaving HTTP server)."""
from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cloudkitty import exceptions
from cloudkitty.fetcher import BaseFetcher, get_fetcher
from cloudkitty.fetcher.keystone import KeystoneFetcher
from cloudkitty.fetcher.source import SourceFetcher

# -- loading -----------------------------------------------------------------


def test_get_fetcher_loads_the_configured_backend(make_conf) -> None:
    conf = make_conf({"fetcher": {"backend": "source"}})
    assert isinstance(get_fetcher(conf), SourceFetcher)


def test_get_fetcher_unknown_backend_is_config_error(make_conf) -> None:
    conf = make_conf({"fetcher": {"backend": "nope"}})
    with pytest.raises(exceptions.ConfigError) as err:
        get_fetcher(conf)
    assert "nope" in str(err.value) and "[fetcher]" in str(err.value)


def test_base_fetcher_get_tenants_is_get_scopes(make_conf) -> None:
    class Two(BaseFetcher):
        name = "two"

        def get_scopes(self) -> list[str]:
            return ["a", "b"]

    assert Two(make_conf()).get_tenants() == ["a", "b"]


# -- source ------------------------------------------------------------------


def test_source_returns_sorted_unique_sources(make_conf) -> None:
    conf = make_conf({"fetcher": {"backend": "source"},
                      "fetcher_source": {"sources": "p2, p1,p2 ,p3"}})
    assert get_fetcher(conf).get_scopes() == ["p1", "p2", "p3"]


def test_source_without_sources_is_empty(make_conf) -> None:
    assert SourceFetcher(make_conf()).get_scopes() == []


# -- keystone: configuration -------------------------------------------------

_AUTH = {"auth_type": "password", "username": "ck", "password": "pw",
         "project_name": "service", "user_domain_id": "default",
         "project_domain_id": "default"}


def test_keystone_without_credentials_is_config_error(make_conf) -> None:
    with pytest.raises(exceptions.ConfigError, match="fetcher_keystone"):
        KeystoneFetcher(make_conf())


def test_keystone_v2_is_config_error(make_conf) -> None:
    conf = make_conf({"fetcher_keystone": {
        **_AUTH, "auth_url": "http://127.0.0.1:1/v3", "keystone_version": 2}})
    with pytest.raises(exceptions.ConfigError, match="keystone_version"):
        KeystoneFetcher(conf)


def test_keystone_unknown_auth_type_is_config_error(make_conf) -> None:
    conf = make_conf({"fetcher_keystone": {"auth_type": "no-such-plugin"}})
    with pytest.raises(exceptions.ConfigError, match="auth_type"):
        KeystoneFetcher(conf)


def test_keystone_missing_auth_option_is_config_error(make_conf) -> None:
    conf = make_conf({"fetcher_keystone": {"auth_type": "password"}})
    with pytest.raises(exceptions.ConfigError, match="auth_url"):
        KeystoneFetcher(conf)


def test_keystone_auth_section_missing_auth_is_config_error(
        make_conf) -> None:
    conf = make_conf({"fetcher_keystone": {"auth_section": "elsewhere"},
                      "elsewhere": {"auth_type": "password"}})
    with pytest.raises(exceptions.ConfigError, match=r"\[elsewhere\]"):
        KeystoneFetcher(conf)


# -- keystone: transport failures --------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Bad(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def _answer(self) -> None:
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "500":
            body, status, ctype = b"boom", 500, "text/plain"
        else:
            body, status, ctype = b"<html>not json", 200, "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (slow mode)
            pass

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["500", "garbage", "slow"])
def bad_keystone(request) -> Iterator[tuple[str, str]]:
    handler = type("Handler", (_Bad,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}/v3"
    server.shutdown()
    server.server_close()


def _fetcher(make_conf, url: str) -> KeystoneFetcher:
    conf = make_conf({"fetcher_keystone": {**_AUTH, "auth_url": url,
                                           "timeout": 1}})
    return KeystoneFetcher(conf)


def test_keystone_unreachable_is_fetch_error(make_conf) -> None:
    fetcher = _fetcher(make_conf, f"http://127.0.0.1:{_free_port()}/v3")
    with pytest.raises(exceptions.FetchError) as err:
        fetcher.get_scopes()
    assert "'keystone'" in str(err.value)
    assert "ConnectFailure" in str(err.value)


def test_keystone_misbehaving_is_fetch_error(make_conf, bad_keystone) -> None:
    mode, url = bad_keystone
    fetcher = _fetcher(make_conf, url)
    reason = {"500": "HTTP 500", "garbage": "InvalidResponse",
              "slow": "timed out"}[mode]
    started = time.monotonic()
    with pytest.raises(exceptions.FetchError,
                       match=f"'keystone'.*{reason}"):
        fetcher.get_scopes()
    if mode == "slow":
        # The session timeout (1 s) applies: we do not wait for the server.
        assert time.monotonic() - started < 2.5
