"""The API samples of the documentation are what the API answers today:
re-running ``tools/api_samples.py`` writes exactly the committed files,
and every sample is shown by a page of the API reference."""
from __future__ import annotations

import datetime
import importlib.util
import re
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating.pyscripts import runner

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "doc" / "source" / "api-reference" / "samples"
REFERENCE = REPO / "doc" / "source" / "api-reference"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "api_samples", REPO / "tools" / "api_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules["api_samples"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    _generator().generate(out)
    return out


def test_committed_samples_are_what_the_api_answers(regenerated: Path
                                                    ) -> None:
    fresh = {p.name: p.read_text() for p in regenerated.iterdir()}
    committed = {p.name: p.read_text() for p in SAMPLES.iterdir()}
    assert sorted(fresh) == sorted(committed), (
        "sample files differ; run: python tools/api_samples.py")
    stale = [name for name in sorted(fresh)
             if fresh[name] != committed[name]]
    assert not stale, (f"stale samples {stale}; run: "
                       f"python tools/api_samples.py")


def test_every_sample_is_shown_in_the_reference() -> None:
    pages = "".join(p.read_text() for p in REFERENCE.glob("*.rst"))
    included = set(re.findall(r"literalinclude:: samples/(\S+)", pages))
    committed = {p.name for p in SAMPLES.iterdir()}
    assert committed - included == set()
    assert included - committed == set()


def test_stand_ins_replace_only_what_the_run_drew() -> None:
    module = _generator()
    now = module.datetime.datetime(2026, 5, 4, 12, 0,
                                   tzinfo=module.UTC)
    stand_ins = module.StandIns(now)
    text = ('{"a": "6f1c9a4e-2b7d-4085-9c3e-1a2b3c4d5e6f", '
            '"b": "2026-05-04T11:59:58.123456", '
            '"c": "2024-01-01T00:00:00", '
            '"d": "6f1c9a4e-2b7d-4085-9c3e-1a2b3c4d5e6f", '
            '"e": "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"}')
    assert stand_ins(text) == (
        '{"a": "00000000-0000-4000-8000-000000000001", '
        f'"b": "{module.STAND_IN_TIME}.000000", '
        '"c": "2024-01-01T00:00:00", '
        '"d": "00000000-0000-4000-8000-000000000001", '
        '"e": "00000000-0000-4000-8000-000000000002"}')


@pytest.mark.parametrize(("day", "expected"), [
    (6, Decimal("0.5")),   # Saturday 2024-01-06: half price
    (8, Decimal("1")),     # Monday 2024-01-08: unchanged
])
def test_the_sample_script_halves_weekend_prices(day: int,
                                                 expected: Decimal) -> None:
    module = _generator()
    start = datetime.datetime(2024, 1, day, tzinfo=datetime.timezone.utc)
    frame = DataFrame(start, start + datetime.timedelta(hours=1), {
        "instance": [DataPoint("instance", 1, 1, {"id": "vm-1"}, {})]})
    script = runner.compile_script("s1", "weekend-discount",
                                   module.PYSCRIPT)
    rated = runner.run_scripts([script], frame)
    [point] = rated.usage["instance"]
    assert point.price == expected


def test_the_worked_example_shows_the_generators_files() -> None:
    """The user guide's worked example quotes the metrics.yml and the
    script the samples were made with."""
    module = _generator()
    page = (REPO / "doc" / "source" / "user"
            / "worked-example.rst").read_text()
    for text in (module.METRICS_YML, module.PYSCRIPT):
        indented = "".join(f"    {line}\n" if line else "\n"
                           for line in text.splitlines())
        assert indented in page
