"""The real program, end to end, through Pulumi's Automation API: up, check, no drift, destroy.

Needs the `pulumi` CLI and two kube contexts with a running standalone zone control plane:

    MESH_FEDERATION_GLOBAL_CONTEXT=<ctx> MESH_FEDERATION_ZONE_CONTEXT=<ctx> \\
    [MESH_FEDERATION_KDS_ADDRESS=<host[:port]>] pytest tests/integration

State goes to a local file backend in a temporary folder; the stack is destroyed at the end.
Skipped, saying why, unless the CLI is on PATH and both contexts are set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

GLOBAL_CONTEXT = os.environ.get("MESH_FEDERATION_GLOBAL_CONTEXT")
ZONE_CONTEXT = os.environ.get("MESH_FEDERATION_ZONE_CONTEXT")
KDS_ADDRESS = os.environ.get("MESH_FEDERATION_KDS_ADDRESS")
ROOT = Path(__file__).resolve().parents[2]
ZONE = "zone-1"

_missing = [name for name, value in (("MESH_FEDERATION_GLOBAL_CONTEXT", GLOBAL_CONTEXT),
                                     ("MESH_FEDERATION_ZONE_CONTEXT", ZONE_CONTEXT)) if not value]
_reasons = []
if shutil.which("pulumi") is None:
    _reasons.append("the pulumi CLI is not on PATH")
if _missing:
    _reasons.append(f"{' and '.join(_missing)} not set (kube contexts of a global cluster and of a "
                    "cluster running a standalone zone control plane)")
if _reasons:
    pytest.skip(f"integration test: {'; '.join(_reasons)}", allow_module_level=True)

from pulumi import automation as auto  # noqa: E402  (after the skip: only needed when it runs)


@pytest.fixture
def stack(tmp_path):
    (tmp_path / "state").mkdir()
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
           "PULUMI_CONFIG_PASSPHRASE": "integration-test-only"}
    stack = auto.create_or_select_stack(stack_name="integration", work_dir=str(ROOT),
                                        opts=auto.LocalWorkspaceOptions(env_vars=env))
    settings = {
        "mesh-federation:global.kubeContext": GLOBAL_CONTEXT,
        "mesh-federation:zones[0].name": ZONE,
        "mesh-federation:zones[0].kubeContext": ZONE_CONTEXT,
    }
    if KDS_ADDRESS:
        settings["mesh-federation:global.kdsAddress"] = KDS_ADDRESS
    else:  # a generated certificate must name the address zones dial: none given, no verification
        settings["mesh-federation:kdsTls.mode"] = "skipVerify"
    for key, value in settings.items():
        stack.set_config(key, auto.ConfigValue(value=str(value), secret=False), path=True)
    try:
        yield stack
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack("integration")
        # The stack file the workspace wrote into the project dir.
        (ROOT / "Pulumi.integration.yaml").unlink(missing_ok=True)


def test_up_federates_the_zone_then_preview_shows_no_changes(stack):
    stack.up(on_output=print)

    zones = stack.outputs()["zones"].value
    check = zones[ZONE]["check"]
    assert isinstance(check, dict) and check.get("online") is True, check

    stack.preview(expect_no_changes=True, on_output=print)
