"""Crash points: parsing and the kill itself, in a child process group."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cloudkitty.processor import failpoints


def test_parse_counts() -> None:
    assert failpoints._parse("collect, rate:3,,after-store:1") == {
        "collect": 1, "rate": 3, "after-store": 1}
    assert failpoints._parse("") == {}


def test_nth_hit_kills_the_whole_process_group() -> None:
    code = ("from cloudkitty.processor import failpoints\n"
            "import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(30)'])\n"
            "print(child.pid, flush=True)\n"
            "for i in range(5):\n"
            "    print('hit', i, flush=True)\n"
            "    failpoints.hit('rate')\n")
    env = dict(os.environ, CLOUDKITTY_FAILPOINTS="rate:3")
    proc = subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=60,
                          start_new_session=True, check=False)
    lines = proc.stdout.split("\n")
    assert proc.returncode == -signal.SIGKILL
    assert [line for line in lines if line.startswith("hit")] == \
        ["hit 0", "hit 1", "hit 2"]
    child = int(lines[0])
    # The grandchild shared the group: it was killed too (the kernel may
    # take a moment to mark it dead).
    deadline = time.monotonic() + 10
    while _is_running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _is_running(child)


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] not in ("Z", "X")
    except FileNotFoundError:
        return False
