"""The control loop every podless part runs on: a daemon thread calling its steps every
`interval` until `stop()`. A step's exception is kept in `errors` (the caller reads them, a test
asserts there are none) and the loop lives on, as a controller's would. `Controller`: the start
and stop every part has around it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from local_federation.kube import ApiServer, KubeRest


@dataclass
class Loop:
    name: str
    steps: Sequence[Callable[[], None]]
    interval: float
    errors: list[str]
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            for step in self.steps:
                try:
                    step()
                except Exception as exc:  # the loop must live on; the caller reads `errors`
                    self.errors.append(f"{self.name} {step.__name__}: {exc!r}"[:3000])
            self._stop.wait(self.interval)


class Controller:
    """What the podless parts share (the deployment controllers, the kubelet, the workload pods):
    a REST client on one API server and a Loop running `steps()` on it. Subclasses are
    dataclasses with `server`, `interval`, `errors` and `_loop` fields."""

    server: ApiServer
    interval: float
    errors: list[str]
    _loop: Loop | None
    loop_name: ClassVar[str]

    def steps(self) -> Sequence[Callable[[], None]]:
        raise NotImplementedError

    def start(self) -> None:
        self._api = KubeRest(self.server)
        self._loop = Loop(f"{self.loop_name}-{self.server.name}", self.steps(), self.interval, self.errors)
        self._loop.start()

    def stop(self, timeout: float = 10) -> None:
        if self._loop is not None:
            self._loop.stop(timeout=timeout)
