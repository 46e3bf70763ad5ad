"""Measuring a whole command for bench/pulumi_apply.py: wall time, peak memory of its process tree,
CPU of the tree, and the writes a Pulumi file backend makes to a stack's state file.

Peak memory is the largest sum of VmRSS over the command and all its descendants, polled from
/proc every 0.1 s (`/usr/bin/time -v` would give the largest single process only: here the CLI,
the language host, the Python program and two provider plugins run side by side). A sum of RSS
counts pages shared between processes once per process, so it is an upper bound; a process that
lives less than 0.1 s may be missed. CPU is user + system of the command and every descendant
that was waited for (`wait4`).

State writes are counted with inotify on the backend's stack directory: the file backend writes a
whole new checkpoint to a temporary file and renames it over `<stack>.json` (gocloud.dev fileblob),
after copying the old one to `<stack>.json.bak` (pkg/backend/diy/state.go). Each rename onto
either name is one write; its size is read right after the event (the file may already be a newer
version by then, so bytes are approximate, within one checkpoint).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import struct
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

POLL_SECONDS = 0.1
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Run:
    argv: Sequence[str]
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    returncode: int | None  # None: killed at the cap
    stdout: str
    stderr: str
    load: tuple[float, float, float]
    # CPU seconds by program (the basename of argv[0]), as last seen while polling: a process's
    # CPU after its last poll is missed, so the parts add up to a little less than cpu_s.
    cpu_by_program: dict[str, float] = field(default_factory=dict)

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def _process_stats() -> Iterator[tuple[int, list[bytes]]]:
    """Every process's pid and the fields of its /proc stat after the command name (state,
    ppid, pgrp, session, ...); processes gone meanwhile are skipped."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        yield int(entry), text[text.rindex(b")") + 2:].split(b" ")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, fields in _process_stats():
        children.setdefault(int(fields[1]), []).append(pid)
    return children


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_rss_kb(root: int, cpu_seen: dict[int, tuple[str, float]] | None = None) -> int:
    """The summed RSS of root's tree; with cpu_seen, each process's program and CPU so far too."""
    children = _children_map()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * _PAGE_KB
            if cpu_seen is not None:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    program = os.path.basename(cmdline.read().split(b"\0", 1)[0].decode(errors="replace"))
                # A zombie's cmdline is empty: keep the name seen while it ran.
                program = program or cpu_seen.get(pid, ("?", 0.0))[0]
                # utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
                cpu_seen[pid] = (program, (int(fields[11]) + int(fields[12])) / _TICKS)
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_session(leader: int) -> None:
    """SIGKILL every process of the session `leader` started: the CLI starts each plugin in a
    process group of its own (same session), which killing the leader's group would leave
    running."""
    for pid, fields in _process_stats():
        if int(fields[3]) == leader:  # state, ppid, pgrp, session
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def run_measured(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 timeout_s: float = 1500.0, stdin_text: str | None = None) -> Run:
    """Run argv in its own process group; on the cap, the whole group is killed."""
    load = os.getloadavg()
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-run-{os.getpid()}-{time.monotonic_ns()}"
    with open(f"{out_path}.out", "w+") as out, open(f"{out_path}.err", "w+") as err:
        start = time.monotonic()
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                                   stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                                   stdout=out, stderr=err, text=True, start_new_session=True)
        if stdin_text is not None:
            assert process.stdin is not None
            process.stdin.write(stdin_text)
            process.stdin.close()
        peak_kb = 0
        cpu_seen: dict[int, tuple[str, float]] = {}
        returncode: int | None = None
        rusage = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                returncode = os.waitstatus_to_exitcode(status)
                rusage = usage
                process.returncode = returncode
                break
            peak_kb = max(peak_kb, tree_rss_kb(process.pid, cpu_seen))
            if time.monotonic() - start > timeout_s:
                kill_session(process.pid)
                _, status, rusage = os.wait4(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(status)
                returncode = None
                break
            time.sleep(POLL_SECONDS)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    cpu = (rusage.ru_utime + rusage.ru_stime) if rusage is not None else float("nan")
    by_program: dict[str, float] = {}
    for program, seconds in cpu_seen.values():
        by_program[program] = by_program.get(program, 0.0) + seconds
    return Run(argv, wall, peak_kb / 1024, cpu, returncode, stdout, stderr, load, by_program)


# -- inotify, through libc (no package needed) ----------------------------------------------------

_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_EVENT = struct.Struct("iIII")


@dataclass
class StateWrites:
    """Writes onto `<stack>.json` and its `.bak` in one backend directory, while running."""

    directory: Path
    stack_file: str
    writes: int = 0
    bak_writes: int = 0
    bytes_written: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> StateWrites:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = _IN_MOVED_TO | _IN_CLOSE_WRITE | _IN_CREATE
        if libc.inotify_add_watch(self._fd, str(self.directory).encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {self.directory}")
        self._thread = threading.Thread(target=self._read, name="state-writes", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.3)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._fd)

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                continue
            offset = 0
            while offset < len(data):
                _, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size: offset + _EVENT.size + length].rstrip(b"\0").decode()
                offset += _EVENT.size + length
                if name not in (self.stack_file, f"{self.stack_file}.bak"):
                    continue
                # A rename onto the name (fileblob), or a direct write closing it.
                if not mask & (_IN_MOVED_TO | _IN_CLOSE_WRITE):
                    continue
                try:
                    size = (self.directory / name).stat().st_size
                except OSError:
                    size = 0
                self.bytes_written += size
                if name == self.stack_file:
                    self.writes += 1
                else:
                    self.bak_writes += 1
