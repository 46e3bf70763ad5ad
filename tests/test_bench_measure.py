"""bench/measure.py measures what bench/pulumi_apply.py reports: the memory of a whole process tree
(not its largest process) and every whole-file write a file backend makes (a temporary file
renamed over the state, as gocloud.dev's fileblob writes it). Fast, no tools needed; Linux only
(/proc, inotify)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench.measure import StateWrites, run_measured

pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")

# Two children hold 80 MB each at the same time; the parent waits for both. Each holds its memory
# until both have theirs, then 1.5 s more: however late a loaded machine starts one, they overlap
# for the sampler's whole 1.5 s.
HOLD = """
import os, sys, time
b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])
open(os.path.join(sys.argv[1], sys.argv[2]), 'w').close()
while len(os.listdir(sys.argv[1])) < 2:
    time.sleep(0.05)
time.sleep(1.5)
"""
TWO_CHILDREN = f"""
import subprocess, sys
children = [subprocess.Popen([sys.executable, "-c", {HOLD!r}, sys.argv[1], str(i)])
            for i in range(2)]
sys.exit(sum(c.wait() for c in children))
"""


def test_peak_memory_is_the_sum_over_the_process_tree_and_cpu_counts_the_children(
        tmp_path: Path) -> None:
    run = run_measured([sys.executable, "-c", TWO_CHILDREN, str(tmp_path)], timeout_s=120)
    assert run.returncode == 0, run.stderr
    # Each child alone is about 90 MB (80 MB touched plus the interpreter): only the sum of the
    # tree is above 160 MB.
    assert run.peak_rss_mb > 160
    assert run.cpu_s > 0


def test_a_run_past_its_cap_is_killed_with_every_child_and_reported_as_timed_out(tmp_path: Path) -> None:
    # The child runs in a process group of its own, as the pulumi CLI starts its plugins.
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    run = run_measured([sys.executable, "-c", "import subprocess, sys; "
                        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
                        "process_group=0); "
                        f"open({str(pid_file)!r}, 'w').write(str(c.pid)); c.wait()"],
                       timeout_s=1.5)
    assert run.timed_out and run.returncode is None
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    # Killed at once, reaped soon after: a generous ceiling for a loaded machine.
    deadline = time.monotonic() + 30
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _running(child)
    if alive:
        os.kill(child, 9)
    assert not alive, "a child in its own process group outlived the cap"


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_state_writes_count_renames_onto_the_state_file_and_its_backup_only(tmp_path: Path) -> None:
    def write_whole(name: str, size: int) -> None:
        temp = tmp_path / f"{name}.1234.tmp"
        temp.write_bytes(b"x" * size)
        os.replace(temp, tmp_path / name)

    with StateWrites(tmp_path, "dev.json") as writes:
        write_whole("dev.json", 1000)
        write_whole("dev.json.bak", 1000)
        write_whole("dev.json", 3000)
        write_whole("dev.json.attrs", 50)      # fileblob's sidecar: not a state write
        write_whole("other.json", 7000)        # another stack
    assert (writes.writes, writes.bak_writes) == (2, 1)
    assert 4000 <= writes.bytes_written <= 3 * 3000
