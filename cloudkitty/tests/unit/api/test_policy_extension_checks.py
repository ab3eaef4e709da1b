"""oslo.policy's extension checks (``http:``) are loaded only when a rule
uses them, and then work as before."""
from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator

import pytest
from oslo_policy import _checks

from cloudkitty.api import policy

HEADERS = {"X-Roles": "member,reader", "X-Project-Id": "p1",
           "X-User-Id": "u1"}


class _Verdicts(http.server.BaseHTTPRequestHandler):
    """Answers "True" on /allow and "False" elsewhere, recording the rule
    each request asked about."""

    rules: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", 0))
        # oslo.policy's default: a form whose fields are JSON documents.
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.rules.append(json.loads(form["rule"][0]))
        answer = b"True" if self.path == "/allow" else b"False"
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output clean."""


@pytest.fixture
def verdicts() -> Iterator[tuple[str, list[str]]]:
    """A local policy server: its base URL and the rules it was asked."""
    handler = type("Verdicts", (_Verdicts,), {"rules": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"//127.0.0.1:{server.server_address[1]}", handler.rules
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fresh_extensions(monkeypatch: pytest.MonkeyPatch) -> None:
    """oslo.policy as in a new process: no extension loaded yet."""
    monkeypatch.setattr(_checks, "extension_checks", None)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


@pytest.mark.usefixtures("fresh_extensions")
def test_extension_checks_wait_for_a_rule_using_them() -> None:
    assert policy.defer_extension_checks()
    deferred = _checks.extension_checks
    assert deferred is not None
    assert {"http", "https"} <= set(deferred)
    assert all(isinstance(check, policy._DeferredCheck)
               for check in deferred.values())
    # Already in place: a second call changes nothing.
    assert not policy.defer_extension_checks()
    assert _checks.extension_checks is deferred


@pytest.mark.usefixtures("fresh_extensions")
def test_http_rule_asks_the_remote_server(policy_app, verdicts) -> None:
    base, asked = verdicts
    app = policy_app({"info:get_config": f"http:{base}/allow"})
    check = _checks.extension_checks["http"]  # type: ignore[index]
    assert isinstance(check, policy._DeferredCheck)
    assert app.get("/v1/info/config", headers=HEADERS).status_int == 200
    assert asked == ["info:get_config"]


@pytest.mark.usefixtures("fresh_extensions")
def test_http_rule_denial_is_a_403(policy_app, verdicts) -> None:
    base, asked = verdicts
    app = policy_app({"info:get_config": f"http:{base}/deny"})
    app.get("/v1/info/config", headers=HEADERS, status=403)
    assert asked == ["info:get_config"]


def test_missing_private_cache_is_left_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(_checks, "extension_checks")
    assert not policy.defer_extension_checks()
    assert not hasattr(_checks, "extension_checks")
