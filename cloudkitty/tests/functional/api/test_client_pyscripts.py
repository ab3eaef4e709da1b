"""Every ``cloudkitty pyscript`` command of the official client, against a
real ``cloudkitty-api`` (noauth) on SQLite and on PostgreSQL, with rating
API versions 1 and 2 (pyscripts stay under /v1 in both)."""
from __future__ import annotations

import datetime
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudkitty.tests.functional.api.conftest import (
    CLIENT_DB_KINDS,
    api_on_fresh_database,
)
from cloudkitty.tests.functional.api.test_client_cli import (
    as_json,
    cloudkitty,
)

SOURCE = ("for points in data['usage'].values():\n"
          "    for point in points:\n"
          "        point['rating']['price'] = point['vol']['qty'] * 2\n")
COLUMNS = ["Name", "Script ID", "Checksum", "Data", "Script Start Date",
           "Script End Date", "Script Description"]
FUTURE_START = "2099-01-01T00:00:00"


@pytest.fixture(scope="module", params=CLIENT_DB_KINDS)
def api_url(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``cloudkitty-api`` on a freshly migrated database of each kind
    (this module's tests write, so they get their own server)."""
    with api_on_fresh_database(request.param, tmp_path_factory) as (url, _):
        yield url


@pytest.fixture(params=["1", "2"])
def ck(request: pytest.FixtureRequest, api_url: str):
    """Run ``cloudkitty --os-rating-api-version V pyscript ...``."""
    def _run(*args: str, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
        return cloudkitty(api_url, "--os-rating-api-version",
                          request.param, "pyscript", *args, check=check)
    return _run


def rows(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return as_json(result)


def unique(name: str, ck: Any) -> str:
    # The server is shared by the tests of a database kind.
    return f"{name}-{id(ck)}-{datetime.datetime.now().timestamp()}"


def failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    return result.stdout + result.stderr


def test_create_prints_the_script(ck) -> None:
    name = unique("create", ck)
    [row] = rows(ck("create", name, SOURCE, "--start", FUTURE_START,
                    "--end", "2099-02-01", "--description", "double",
                    "-f", "json"))
    assert list(row) == COLUMNS
    assert row["Name"] == name
    assert row["Data"] == SOURCE
    assert row["Checksum"] == hashlib.sha512(SOURCE.encode()).hexdigest()
    assert row["Script Start Date"] == FUTURE_START
    assert row["Script End Date"] == "2099-02-01T23:59:59"
    assert row["Script Description"] == "double"


def test_create_reads_a_file(ck, tmp_path: Path) -> None:
    path = tmp_path / "rating.py"
    source = "# coût réduit\n" + SOURCE
    path.write_text(source, encoding="utf-8")
    [row] = rows(ck("create", unique("file", ck), str(path), "-f", "json"))
    assert row["Data"] == source
    assert row["Checksum"] == hashlib.sha512(
        source.encode("utf-8")).hexdigest()
    # No --start: the script starts now.
    start = datetime.datetime.fromisoformat(row["Script Start Date"])
    assert abs(start - datetime.datetime.now(datetime.UTC).replace(
        tzinfo=None)) < datetime.timedelta(minutes=5)


def test_create_errors_show_the_server_message(ck) -> None:
    name = unique("dup", ck)
    [row] = rows(ck("create", name, SOURCE, "-f", "json"))
    output = failure(ck("create", name, SOURCE, check=False))
    assert f"Script {name} already exists (UUID: {row['Script ID']})" in \
        output
    assert "409" in output
    output = failure(ck("create", unique("past", ck), SOURCE, "--start",
                        "2020-01-01T00:00:00", check=False))
    assert "start in the past" in output
    output = failure(ck("create", unique("syntax", ck), "def f(:",
                        check=False))
    assert "does not compile" in output


def test_list_with_and_without_data(ck) -> None:
    name = unique("list", ck)
    [created] = rows(ck("create", name, SOURCE, "-f", "json"))
    listed = {r["Script ID"]: r for r in rows(ck("list", "-f", "json"))}
    assert listed[created["Script ID"]] == created
    bare = {r["Script ID"]: r for r in rows(ck("list", "-n", "-f", "json"))}
    assert bare[created["Script ID"]]["Data"] in (None, "")
    assert bare[created["Script ID"]]["Checksum"] == created["Checksum"]
    table = ck("list", "--no-data").stdout
    assert name in table and "Script ID" in table


def test_get(ck) -> None:
    [created] = rows(ck("create", unique("get", ck), SOURCE, "-f", "json"))
    assert rows(ck("get", created["Script ID"], "-f", "json")) == [created]
    output = failure(ck("get", "no-such-script", check=False))
    assert "No such script: None (UUID: no-such-script)" in output


def test_update_before_start(ck, tmp_path: Path) -> None:
    [created] = rows(ck("create", unique("upd", ck), SOURCE, "--start",
                        FUTURE_START, "-f", "json"))
    path = tmp_path / "new.py"
    path.write_text("data = data\n")
    new_name = unique("renamed", ck)
    [row] = rows(ck("update", created["Script ID"], "-n", new_name, "-d",
                    str(path), "--description", "new", "--end",
                    "2099-03-01", "-f", "json"))
    assert (row["Name"], row["Data"], row["Script Description"],
            row["Script End Date"]) == (new_name, "data = data\n", "new",
                                        "2099-03-01T23:59:59")
    assert row["Checksum"] == hashlib.sha512(b"data = data\n").hexdigest()
    assert rows(ck("get", created["Script ID"], "-f", "json")) == [row]


def test_update_after_start_only_sets_an_end(ck) -> None:
    [created] = rows(ck("create", unique("started", ck), SOURCE,
                        "-f", "json"))
    script_id = created["Script ID"]
    output = failure(ck("update", script_id, "-d", "data = data\n",
                        check=False))
    assert "only the attribute [end]" in output
    [row] = rows(ck("update", script_id, "--end", "2099-01-01T00:00:00",
                    "-f", "json"))
    assert row["Script End Date"] == "2099-01-01T00:00:00"
    assert row["Data"] == SOURCE
    output = failure(ck("update", script_id, "--end", "2099-06-01",
                        check=False))
    assert "already processed" in output


def test_delete(ck) -> None:
    [created] = rows(ck("create", unique("del", ck), SOURCE, "-f", "json"))
    result = ck("delete", created["Script ID"])
    assert result.stdout == ""
    assert "No such script" in failure(
        ck("get", created["Script ID"], check=False))
    listed = [r["Script ID"] for r in rows(ck("list", "-f", "json"))]
    assert created["Script ID"] not in listed
    assert "No such script" in failure(
        ck("delete", created["Script ID"], check=False))
