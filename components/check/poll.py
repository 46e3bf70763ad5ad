"""The poll loop: observe every condition each round until all hold together, or time runs out.

Passing needs, in one round: the zone online (and online in the previous round too, so a
flapping KDS stream cannot pass on one lucky poll), in every mesh where the zone lists Dataplanes
now, at least one of them on the global (presence, not a count: see ``Expectations``),
every expected policy on the global, and policies of origin ``global`` back in the zone.
Request errors are recorded per condition and polling continues until the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.check.conditions import (
    JsonApi,
    OnlineObservation,
    ResourceType,
    SpecMismatch,
    group_key,
    observe_dataplanes,
    observe_online,
    observe_policies_in_zone,
    observe_policies_on_global,
    observe_zone_dataplanes,
    policy_key,
    read_resource_types,
)
from components.check.spec import CheckSpec, ExpectedPolicy
from components.clients.errors import (
    AuthRejected,
    KumaApiError,
    Misconfigured,
    RequestRejected,
    ServerFailed,
    Stopped,
    Unreachable,
)
from components.clients.kuma_names import GLOBAL_ORIGIN, ORIGIN_LABEL, ZONE_LABEL

ONLINE_ROUNDS_REQUIRED = 2

Progress = Callable[[str], None]


class CheckFailed(Exception):
    """The federation did not verify before the deadline; the message names each failure."""

    def __init__(self, message: str, *, failures: Mapping[str, str] | None = None,
                 rounds: int = 0, elapsed_seconds: float = 0.0) -> None:
        super().__init__(message)
        self.failures = dict(failures or {})
        self.rounds = rounds
        self.elapsed_seconds = elapsed_seconds


@dataclass(frozen=True)
class CheckResult:
    zone: str
    online: bool
    connect_time: str | None
    dataplanes: Mapping[str, Mapping[str, int]]  # mesh -> {"in_zone", "on_global"}
    policies_on_global: tuple[Mapping[str, str | None], ...]
    policies_back_in_zone: Mapping[str, Any]
    rounds: int
    elapsed_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "online": self.online,
            "connect_time": self.connect_time,
            "dataplanes": {mesh: dict(v) for mesh, v in self.dataplanes.items()},
            "policies_on_global": [dict(p) for p in self.policies_on_global],
            "policies_back_in_zone": dict(self.policies_back_in_zone),
            "rounds": self.rounds,
            "elapsed_seconds": self.elapsed_seconds,
        }


# -- per-round bookkeeping ------------------------------------------------------


class _RoundApi:
    """Wraps a client for one round: once the API is unreachable or answers 5xx, the rest of
    the round reuses that error instead of waiting on more timeouts.

    Client errors that may heal while the check waits go on: NotFound (a zone not registered
    yet, a mesh not synced to the global yet: "Failed to retrieve Mesh") and Throttled (408,
    429). A refused credential or request ends the check at once."""

    def __init__(self, api: JsonApi, side: str) -> None:
        self._api = api
        self.side = side
        self.down: KumaApiError | None = None
        self.reported = False  # the down error was already told in full this round

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        if self.down is not None:
            raise self.down
        try:
            return self._api.get_json(path, params)
        except AuthRejected as error:
            # A refused credential will not heal while we wait: say so now, not at the deadline.
            raise CheckFailed(f"{self.side} API refused the check's credentials: {error}",
                              failures={self.side: str(error)}) from None
        except RequestRejected as error:
            # The API refused the request itself (a 400 for a query it does not support, say):
            # asking again the same way gets the same answer, so waiting out the timeout would
            # only hide the reason behind a timeout on a federation that works.
            raise CheckFailed(f"{self.side} API rejected the check's request: {error}",
                              failures={self.side: str(error)}) from None
        except (Unreachable, ServerFailed, Stopped, Misconfigured) as error:
            self.down = error
            raise

    def url_for(self, path: str) -> str:
        return self._api.url_for(path)


@dataclass
class _Condition:
    title: str
    ok: bool = False
    summary: str = "waiting"  # for the progress line
    reason: str = ""  # why it does not hold
    error: str | None = None  # this round's error, if the observation failed
    last_error: str | None = None  # the latest error of the whole run
    last_answer: str | None = None  # the latest non-error reason, kept across errors

    def failed(self, api: _RoundApi, error: Exception, expected: str) -> None:
        if self.error is None and self.reason:
            self.last_answer = self.reason
        self.last_error = f"{api.side} API: {error}"
        if error is api.down and api.reported:
            text = f"not checked: the {api.side} API failed earlier in the round"
            self.summary = expected
        else:
            text = self.last_error
            self.summary = f"{expected} (error: {_short(text)})"
            api.reported = api.reported or error is api.down
        self.ok, self.error, self.reason = False, text, text

    def held(self, ok: bool, summary: str, reason: str = "") -> None:
        self.ok, self.summary, self.reason, self.error = ok, summary, reason, None

    def explain(self) -> str:
        if self.error is None and self.last_error is not None:
            return f"{self.reason} (last error seen: {self.last_error})"
        if self.error is not None and self.last_answer is not None:
            return f"{self.reason} (last answer before that: {self.last_answer})"
        return self.reason


def _short(text: str, limit: int = 140) -> str:
    first = text.split(". ", 1)[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _elapsed(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"


@dataclass
class _Run:
    spec: CheckSpec
    global_api: JsonApi
    zone_api: JsonApi
    online: _Condition = field(default_factory=lambda: _Condition("zone online on the global"))
    dataplanes: _Condition = field(default_factory=lambda: _Condition("dataplanes on the global"))
    on_global: _Condition = field(default_factory=lambda: _Condition("policies on the global"))
    in_zone: _Condition = field(default_factory=lambda: _Condition("policies back in the zone"))
    global_types: dict[str, ResourceType] | None = None
    zone_types: dict[str, ResourceType] | None = None
    rounds: int = 0
    streak: int = 0
    max_streak: int = 0
    online_rounds: int = 0
    last_online: OnlineObservation | None = None
    dp_in_zone: dict[str, int] = field(default_factory=dict)
    dp_found: dict[str, int] = field(default_factory=dict)
    pol_found: dict[ExpectedPolicy, str | None] = field(default_factory=dict)
    zone_counts: dict[tuple[str, str | None], int] = field(default_factory=dict)

    @property
    def conditions(self) -> tuple[_Condition, ...]:
        return (self.online, self.dataplanes, self.on_global, self.in_zone)

    @property
    def passed(self) -> bool:
        return self.streak >= ONLINE_ROUNDS_REQUIRED and all(c.ok for c in self.conditions)

    # -- one round --

    def round(self) -> None:
        self.rounds += 1
        global_api = _RoundApi(self.global_api, "global")
        zone_api = _RoundApi(self.zone_api, "zone")
        self._observe_online(global_api)
        self._observe_dataplanes(global_api, zone_api)
        self._observe_on_global(global_api)
        self._observe_in_zone(zone_api)

    def _observe_online(self, api: _RoundApi) -> None:
        cond = self.online
        try:
            seen = observe_online(api, self.spec.zone)
        except KumaApiError as error:
            self.streak = 0
            cond.failed(api, error, "unknown")
            return
        if not seen.online:
            self.streak = 0
            reason = seen.reason
            if self.online_rounds and self.max_streak < ONLINE_ROUNDS_REQUIRED:
                reason += (f"; it was online in {self.online_rounds} of {self.rounds} rounds but "
                           f"never in {ONLINE_ROUNDS_REQUIRED} consecutive ones (flapping)")
            cond.held(False, f"no ({seen.reason})", reason)
            return
        self.streak += 1
        self.max_streak = max(self.max_streak, self.streak)
        self.online_rounds += 1
        self.last_online = seen
        if self.streak >= ONLINE_ROUNDS_REQUIRED:
            cond.held(True, "yes")
        else:
            reason = (f"online ({seen.reason}) in the last round only; "
                      f"{ONLINE_ROUNDS_REQUIRED} consecutive rounds are required")
            if self.online_rounds > 1 and self.max_streak < ONLINE_ROUNDS_REQUIRED:
                reason += (f"; it was online in {self.online_rounds} of {self.rounds} rounds, "
                           "never in consecutive ones (flapping)")
            cond.held(False, f"yes ({self.streak}/{ONLINE_ROUNDS_REQUIRED} rounds)", reason)

    def _observe_dataplanes(self, global_api: _RoundApi, zone_api: _RoundApi) -> None:
        cond = self.dataplanes
        if not self.spec.expect.dataplanes:
            cond.held(True, "not checked")
            return
        try:
            self.dp_in_zone = observe_zone_dataplanes(zone_api)
        except KumaApiError as error:
            cond.failed(zone_api, error, "?")
            return
        if not self.dp_in_zone:
            self.dp_found = {}
            cond.held(True, "none in the zone")
            return
        meshes = len(self.dp_in_zone)
        try:
            self.dp_found = observe_dataplanes(global_api, self.spec.zone, self.dp_in_zone)
        except KumaApiError as error:
            cond.failed(global_api, error, f"?/{meshes} meshes")
            return
        absent = [m for m in self.dp_in_zone if not self.dp_found.get(m)]
        cond.held(not absent, f"{meshes - len(absent)}/{meshes} meshes", "; ".join(
            f"mesh {m}: the zone lists {self.dp_in_zone[m]} Dataplanes, the global none labelled "
            f"{ZONE_LABEL}={self.spec.zone}" for m in absent))

    def _types(self, api: _RoundApi, side: str) -> dict[str, ResourceType]:
        cached = self.global_types if side == "global" else self.zone_types
        if cached is None:
            cached = read_resource_types(api.get_json("/_resources"))
            if side == "global":
                self.global_types = cached
            else:
                self.zone_types = cached
        return cached

    def _observe_on_global(self, api: _RoundApi) -> None:
        cond, expected = self.on_global, self.spec.expect.policies
        if not expected:
            cond.held(True, "none expected")
            return
        try:
            self.pol_found = observe_policies_on_global(api, self._types(api, "global"), expected)
        except KumaApiError as error:
            cond.failed(api, error, f"?/{len(expected)}")
            return
        missing = [policy_key(p) for p in expected if self.pol_found.get(p) is None]
        cond.held(not missing, f"{len(expected) - len(missing)}/{len(expected)}",
                  "missing on the global: " + ", ".join(missing))

    def _observe_in_zone(self, api: _RoundApi) -> None:
        cond, expected = self.in_zone, self.spec.expect.policies
        if not expected:
            cond.held(True, "not applicable (no policies expected)")
            return
        groups = len({(p.type, p.mesh) for p in expected})
        try:
            self.zone_counts = observe_policies_in_zone(api, self._types(api, "zone"), expected)
        except KumaApiError as error:
            cond.failed(api, error, "unknown")
            return
        empty = [group_key(t, m) for (t, m), n in self.zone_counts.items() if n == 0]
        got = groups - len(empty)
        cond.held(not empty, f"yes ({got}/{groups} types)" if not empty
                  else f"waiting ({got}/{groups} types)",
                  f"the zone lists no policy labelled {ORIGIN_LABEL}={GLOBAL_ORIGIN} for: "
                  + ", ".join(empty))

    # -- reporting --

    def progress_line(self, elapsed: float) -> str:
        return (f"[{self.spec.zone} {_elapsed(elapsed)}] online: {self.online.summary}; "
                f"dataplanes {self.dataplanes.summary}; "
                f"policies on global {self.on_global.summary}; "
                f"policies back in zone: {self.in_zone.summary}")

    def failure(self, elapsed: float) -> CheckFailed:
        failures = {c.title: c.explain() for c in self.conditions if not c.ok}
        lines = [f"federation check of zone {self.spec.zone} failed: not every condition held "
                 f"within {self.spec.timeout_seconds:g}s ({self.rounds} rounds)"]
        lines += [f"  - {title}: {why}" for title, why in failures.items()]
        return CheckFailed("\n".join(lines), failures=failures, rounds=self.rounds,
                           elapsed_seconds=round(elapsed, 3))

    def result(self, elapsed: float) -> CheckResult:
        expect = self.spec.expect
        if expect.policies:
            back: dict[str, Any] = {"applicable": True, "types": [
                {"type": t, "mesh": m, "count": n} for (t, m), n in self.zone_counts.items()]}
        else:
            back = {"applicable": False, "reason": "no policies were expected"}
        return CheckResult(
            zone=self.spec.zone,
            online=True,
            connect_time=self.last_online.connect_time if self.last_online else None,
            dataplanes={m: {"in_zone": n, "on_global": self.dp_found.get(m, 0)}
                        for m, n in self.dp_in_zone.items()} if expect.dataplanes else {},
            policies_on_global=tuple(
                {"type": p.type, "mesh": p.mesh, "name": p.name,
                 "name_on_global": self.pol_found.get(p)} for p in expect.policies),
            policies_back_in_zone=back,
            rounds=self.rounds,
            elapsed_seconds=round(elapsed, 3),
        )


def run_check(
    spec: CheckSpec,
    *,
    global_client: JsonApi,
    zone_client: JsonApi,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> CheckResult:
    """Poll until federation is verified (returns the result) or the timeout passes
    (raises ``CheckFailed``). ``progress`` receives one line per round."""
    run = _Run(spec, global_client, zone_client)
    start = clock()
    deadline = start + spec.timeout_seconds
    while True:
        try:
            run.round()
        except SpecMismatch as error:
            raise CheckFailed(
                f"federation check of zone {spec.zone} cannot pass: {error}",
                failures={"spec": str(error)}, rounds=run.rounds,
                elapsed_seconds=round(clock() - start, 3),
            ) from None
        now = clock()
        if progress is not None:
            progress(run.progress_line(now - start))
        if run.passed:
            return run.result(now - start)
        if now >= deadline:
            raise run.failure(now - start)
        sleep(max(0.0, min(spec.interval_seconds, deadline - now)))
