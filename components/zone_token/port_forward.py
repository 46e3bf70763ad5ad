"""`kubectl port-forward` to a Service, as the guide does, for as long as a `with` block runs.

Why kubectl and not the Kubernetes API server's service proxy: the proxy consumes the
`Authorization` header, so the control plane would see an anonymous user, and issuing a zone
token needs an admin. kubectl is on every machine that runs the guide.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

from components.child_process import stop

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")


class PortForwardError(RuntimeError):
    """kubectl could not forward; the message carries kubectl's own reason."""


def port_forward_command(*, context: str, namespace: str, service: str, port: int,
                         kubeconfig: str | None, kubectl: str = "kubectl") -> list[str]:
    words = [kubectl, "--context", context, "--namespace", namespace, "port-forward",
             "--address", "127.0.0.1", f"svc/{service}", f":{port}"]
    if kubeconfig:
        words[1:1] = ["--kubeconfig", os.path.expanduser(kubeconfig)]
    return words


@contextmanager
def forwarded(command: list[str], *, timeout_seconds: float = 30.0) -> Iterator[str]:
    """Run `command` (a kubectl port-forward) and yield http://127.0.0.1:<local port>; the
    process is stopped when the block ends, whatever happens in it."""
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, text=True)
    except FileNotFoundError:
        raise PortForwardError(
            f"{command[0]!r} was not found: install kubectl, or set global.api.url to an address "
            "of the global API (and global.api.token)") from None
    stderr: queue.Queue[str | None] = queue.Queue()
    try:
        port = _local_port(process, command, timeout_seconds, stderr)
        try:
            yield f"http://127.0.0.1:{port}"
        except Exception as error:
            # A request failed: if kubectl died under it (pod gone, connection lost), its own
            # words say more than the connection error.
            if _exits_within(process, seconds=1.0):
                reason = _said(stderr) or f"exit code {process.returncode}"
                raise PortForwardError(
                    f"`{' '.join(command)}` ended during the request: {reason[:500]}") from error
            raise
    finally:
        stop(process, grace_seconds=5)


def _drain(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Read a pipe to its end, so kubectl never blocks on a full pipe ("Handling connection
    for ..." per request)."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _exits_within(process: subprocess.Popen[str], *, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _said(stderr: queue.Queue[str | None]) -> str:
    """What kubectl wrote to stderr so far (waiting a moment for the end of it)."""
    said: list[str] = []
    while True:
        try:
            line = stderr.get(timeout=1)
        except queue.Empty:
            break
        if line is None:
            break
        said.append(line.strip())
    return " ".join(filter(None, said))


def _local_port(process: subprocess.Popen[str], command: list[str], timeout_seconds: float,
                stderr: queue.Queue[str | None]) -> int:
    assert process.stdout is not None and process.stderr is not None
    stdout: queue.Queue[str | None] = queue.Queue()
    for stream, lines in ((process.stdout, stdout), (process.stderr, stderr)):
        threading.Thread(target=_drain, args=(stream, lines), daemon=True).start()
    deadline = time.monotonic() + timeout_seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = stdout.get(timeout=left)
        except queue.Empty:
            break
        if line is None:  # kubectl exited
            break
        if match := _FORWARDING.search(line):
            return int(match.group(1))
    if process.poll() is None:
        process.kill()
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    reason = _said(stderr) or f"no forwarded port within {timeout_seconds:g}s"
    raise PortForwardError(f"`{' '.join(command)}` failed: {reason[:500]}")
