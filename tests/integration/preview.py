"""What `pulumi preview --diff` shows of the zone's switch (issue 22), read by tier 1 and tier 2."""

from __future__ import annotations

import re
import subprocess


def resource_block(preview: str, name: str) -> str:
    """The lines `pulumi preview --diff` prints for the resource named `name`: its `[urn=...::name]`
    line and the lines indented as deep or deeper under it, up to the next resource's header or
    the stack's `--outputs:--` (both indented less)."""
    lines = preview.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("[urn=") and line.strip().endswith(f"::{name}]"):
            depth = len(line) - len(line.lstrip())
            end = next((i for i in range(index + 1, len(lines))
                        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) < depth), len(lines))
            return "\n".join(lines[index:end])
    raise AssertionError(f"{name} is not in the preview")


def assert_the_switch_is_shown(preview: subprocess.CompletedProcess[str], zone: str, kds_url: str, *,
                               secrets: list[str], zone_now: str = "none") -> None:
    """Issue 22: the preview shows what the zone's switch sets (mode, zone name, global address)
    under the switch, not only `stdin: [secret]`, and the line saying what the zone runs now
    beside it (an info diagnostic: the CLI writes those to stderr); and no secret value. `zone_now`:
    the zone name the running zone's /config gives."""
    switch = resource_block(preview.stdout, f"zone-{zone}-upgrade")
    for key, value in (("mode", "zone"), ("zone", zone), ("kdsGlobalAddress", kds_url)):
        assert re.search(rf'^\s*{key}\s*: "{re.escape(value)}"$', switch, re.MULTILINE), (key, switch)
    said = preview.stdout + preview.stderr
    summary = f"{zone}: standalone -> zone, zone {zone_now} -> {zone}, kdsGlobalAddress none -> {kds_url}"
    assert summary in said, said[-3000:]
    for secret in secrets:
        assert secret not in said, f"a secret in the preview: {secret[:12]}..."
