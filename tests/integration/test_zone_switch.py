"""A greenfield zone's switch under the real engine and command provider (tier 1).

A greenfield zone is a `helm.v3.Release` without Helm's wait, then a `command.local.Command`
waiting for the control plane's rollout (components/resources/zone_control_plane.py). The
command's `triggers` carry the release's URN and a digest of the values: they order the wait
after the release and make a change of the zone's values replace the command, so that the wait
runs again after the release changed. pulumi-command runs `create` only on create and replace,
so without them a second `pulumi up` would upgrade the release and wait for nothing.

kubectl is wrapped (first on PATH) to count the rollout waits the program ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trustme

from tests.integration.clusters import Clusters
from tests.integration.quickstart import RELEASE, SYSTEM_NAMESPACE
from tests.integration.test_guide import base_config, helm_history, helm_values, new_stack, tls_files
from tests.integration.tools import Tools

VALUE = "KUMA_MESH_FEDERATION_TEST_VALUE"


def counting_kubectl(tools: Tools, folder: Path) -> Path:
    """A kubectl that appends its arguments to a log when it waits for a rollout, then runs the real one."""
    folder.mkdir()
    log = folder / "rollouts.log"
    log.touch()
    wrapper = folder / "kubectl"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" rollout status "*) echo "$*" >> "{log}" ;; esac\n'
        f'exec "{tools.path("kubectl")}" "$@"\n')
    wrapper.chmod(0o755)
    return log


def greenfield_zone(value: str) -> dict[str, Any]:
    return {"name": "zone-1", "kubeContext": "zone-1", "releaseName": RELEASE, "install": "greenfield",
            "values": {"controlPlane": {"envVars": {VALUE: value}}}}


def test_a_change_of_a_greenfield_zones_values_waits_for_its_rollout_again(
        tools: Tools, clusters: Clusters, kds_ca: trustme.CA, tmp_path: Path) -> None:
    ca_pem, cert_pem, key_pem = tls_files(kds_ca)
    stack = new_stack(tools, tmp_path, "greenfield")
    rollouts = counting_kubectl(tools, tmp_path / "wrapped")
    stack.path_prefix = str(rollouts.parent)
    stack.init(base_config(clusters, ca_pem, cert_pem, [greenfield_zone("first")]),
               secrets={"mesh-federation:kdsTls.serverKey": key_pem})

    stack.up()
    assert helm_values(clusters, "zone-1")["controlPlane"]["envVars"][VALUE] == "first"
    assert len(rollouts.read_text().splitlines()) == 1
    assert f"deployment/{RELEASE}-control-plane" in rollouts.read_text()

    stack.write_config({"mesh-federation:zones": [greenfield_zone("second")]})
    stack.up()
    assert helm_values(clusters, "zone-1")["controlPlane"]["envVars"][VALUE] == "second"
    assert [h["revision"] for h in helm_history(clusters, "zone-1")] == [1, 2]
    assert len(rollouts.read_text().splitlines()) == 2, "the rollout wait did not run again"

    # Nothing changed: nothing runs.
    stack.up()
    assert len(rollouts.read_text().splitlines()) == 2
    assert SYSTEM_NAMESPACE in rollouts.read_text()
