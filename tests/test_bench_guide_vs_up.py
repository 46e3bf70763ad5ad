"""bench/guide_vs_up.py's reading of `pulumi up --event-log`: where the run's time went, by part.
The events have the engine's shape (one JSON object a line, `timestamp` in whole seconds,
`resourcePreEvent` / `resOutputsEvent` with the resource's URN, `diagnosticEvent` messages)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.guide_vs_up import phases

STACK = "urn:pulumi:bench::mesh-federation::"
RELEASE = f"{STACK}mesh-federation:index:GlobalControlPlane$kubernetes:helm.sh/v3:Release::global-release"
COPY = f"{STACK}mesh-federation:index:ExportedResources$kubernetes:kuma.io/v1alpha1:MeshTimeout::t-{{}}"
SECRET = f"{STACK}mesh-federation:index:ExportedResources$kubernetes:core/v1:Secret::ca"
SWITCH = f"{STACK}mesh-federation:index:ZoneControlPlane$command:local:Command::zone-1-upgrade"
CHECK = f"{STACK}mesh-federation:index:FederationCheck$command:local:Command::zone-1-check-run"


def resource(kind: str, stamp: int, urn: str) -> dict[str, Any]:
    return {"timestamp": stamp, kind: {"metadata": {"urn": urn}}}


def test_each_part_spans_its_first_start_to_its_last_end(tmp_path: Path) -> None:
    events = [
        {"timestamp": 100, "diagnosticEvent": {"message": "zone-1: listed 300 policies"}},
        {"timestamp": 104, "diagnosticEvent": {"message": "zone-1: exported 343 objects"}},
        # The switch's summary line names the zone too; it is not the export's.
        {"timestamp": 150, "diagnosticEvent": {"message": "zone-1: kdsGlobalAddress grpcs://x:5685"}},
        resource("resourcePreEvent", 105, RELEASE), resource("resOutputsEvent", 130, RELEASE),
        resource("resourcePreEvent", 131, SECRET), resource("resOutputsEvent", 132, SECRET),
        resource("resourcePreEvent", 131, COPY.format(1)), resource("resOutputsEvent", 136, COPY.format(1)),
        resource("resourcePreEvent", 133, COPY.format(2)), resource("resOutputsEvent", 140, COPY.format(2)),
        resource("resourcePreEvent", 141, SWITCH), resource("resOutputsEvent", 155, SWITCH),
        resource("resourcePreEvent", 156, CHECK), resource("resOutputsEvent", 190, CHECK),
        {"timestamp": 191, "summaryEvent": {}},
    ]
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    assert dict(phases(log)) == {
        "export (the zone's progress lines)": 4.0,
        "global release": 25.0,
        "copies": 9.0,
        "zone switch (helm upgrade, rollout)": 14.0,
        "check (wait for KDS and verify)": 34.0,
        "whole engine run": 91.0,
    }
