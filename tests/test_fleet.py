"""Several zones in one stack: shared objects once on the global, conflicts refused early."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from components.program import build
from components.rules.merge import MergeConflict, merge_exports
from components.zone_exports import export_all
from tests import factories
from tests.pulumi_harness import monitor_of, run_program
from tests.test_program import COMMAND, RELEASE, program

ZONES = [{"name": f"zone-{i}", "kubeContext": f"ctx-{i}", "apiUrl": f"http://127.0.0.1:{i}",
          "apiToken": "t"} for i in (1, 2, 3)]


def three_zone_documents() -> dict[str, list[dict[str, Any]]]:
    shared = [factories.mesh("default"), factories.policy("shared-timeout")]
    return {
        "zone-1": [*shared, factories.policy("only-1")],
        "zone-2": [*shared, factories.policy("only-2")],
        "zone-3": [*shared, factories.policy("only-3"), factories.mesh("payments")],
    }


@pytest.mark.parametrize("preview", [True, False])
def test_shared_objects_are_registered_once_and_every_zone_waits_for_its_own(preview):
    cfg = factories.config(zones=ZONES)
    documents = three_zone_documents()
    monitor = run_program(program(cfg, documents), preview=preview)
    exported = {r.name: r for r in monitor.registrations if r.parent.endswith("exported")}
    assert sorted(exported) == sorted([
        "mesh-default", "mesh-payments", "meshtimeout-kong-mesh-system-shared-timeout",
        "meshtimeout-kong-mesh-system-only-1", "meshtimeout-kong-mesh-system-only-2",
        "meshtimeout-kong-mesh-system-only-3"])
    global_release = monitor.one(RELEASE, "global").urn
    upgrades = {}
    for zone in ("zone-1", "zone-2", "zone-3"):
        upgrade = monitor.one(COMMAND, f"zone-{zone}-upgrade")
        upgrades[zone] = upgrade.urn
        own = {"mesh-default", "meshtimeout-kong-mesh-system-shared-timeout",
               f"meshtimeout-kong-mesh-system-{zone.replace('zone-', 'only-')}"}
        needed = own | ({"mesh-payments"} if zone == "zone-3" else set())
        assert global_release in upgrade.dependencies
        assert {exported[n].urn for n in needed} <= set(upgrade.dependencies), zone
    # Zone releases do not wait for each other: they roll out in parallel.
    for zone in upgrades:
        deps = set(monitor.one(COMMAND, f"zone-{zone}-upgrade").dependencies)
        assert not deps & (set(upgrades.values()) - {upgrades[zone]})


def test_conflicting_objects_are_refused_naming_both_zones():
    documents = three_zone_documents()
    changed = factories.policy("shared-timeout")
    changed["spec"] = {"targetRef": {"kind": "MeshService", "name": "other"}}
    documents["zone-2"] = [factories.mesh("default"), changed]
    with pytest.raises(MergeConflict) as error:
        merge_exports(documents)
    message = str(error.value)
    assert "zone-1" in message and "zone-2" in message and "shared-timeout" in message


def test_conflict_stops_the_program_before_anything_is_registered():
    cfg = factories.config(zones=ZONES[:2])
    changed = factories.mesh("default")
    changed["spec"]["mtls"] = {"enabledBackend": "ca-1"}
    documents = {"zone-1": [factories.mesh("default")], "zone-2": [changed]}
    with pytest.raises(MergeConflict) as error:
        run_program(program(cfg, documents), preview=True)
    assert monitor_of(error.value).registrations == []


def test_same_object_with_other_timestamps_is_one_object():
    first = factories.mesh("default")
    second = factories.mesh("default")
    first["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    second["metadata"]["creationTimestamp"] = "2025-01-01T00:00:00Z"
    merged = merge_exports({"a": [first], "b": [second]})
    assert len(merged) == 1 and merged[0].zones == ("a", "b")


@pytest.mark.parametrize("preview", [True, False])
def test_greenfield_and_brownfield_zones_in_one_stack(preview):
    zones = [ZONES[0], {"name": "zone-new", "kubeContext": "ctx-new", "install": "greenfield"}]
    cfg = factories.config(zones=zones)
    monitor = run_program(program(cfg, {"zone-1": factories.standard_documents()}), preview=preview)
    assert monitor.one(COMMAND, "zone-zone-1-upgrade")
    greenfield = monitor.one(RELEASE, "zone-zone-new")
    assert monitor.one(RELEASE, "global").urn in greenfield.dependencies


def test_zones_are_exported_side_by_side():
    cfg = factories.config(zones=ZONES)
    # Every export waits until all three have started: this passes only if they run together.
    # (A minute: a ceiling only, for a loaded machine slow to start a thread.)
    barrier = threading.Barrier(len(ZONES), timeout=60)
    def exporter(cfg_, zone, index):
        barrier.wait()
        return factories.export_result([factories.policy(f"p-{zone.name}")], zone.name)
    results = export_all(cfg, exporter)
    assert [zone.name for _, zone, _ in results] == ["zone-1", "zone-2", "zone-3"]


def test_a_failing_zone_export_fails_the_program_naming_that_zone():
    cfg = factories.config(zones=ZONES)
    def exporter(cfg_, zone, index):
        if zone.name == "zone-2":
            raise RuntimeError(f"zones[{index}] ({zone.name}): connection refused")
        return factories.export_result(factories.standard_documents(), zone.name)
    with pytest.raises(RuntimeError, match=r"zones\[1\] \(zone-2\)") as error:
        run_program(lambda: build(cfg, exporter), preview=True)
    assert monitor_of(error.value).registrations == []


def signing_keys(zone: str) -> list[dict[str, Any]]:
    """What every standalone zone exports: token signing keys of its own, same names everywhere."""
    return [factories.secret(name, kind="system.kuma.io/global-secret", mesh_name=None,
                             value=f"{zone}-{name}-material")
            for name in ("user-token-signing-key-1", "zone-token-signing-key-1")]


def test_the_global_takes_the_signing_keys_of_the_first_zone_only(caplog):
    """Each standalone zone has its own keys under the same names: copying all would be a
    conflict (or, applied one after another, invalidate every token signed before)."""
    cfg = factories.config(zones=ZONES)
    documents = {zone: [*docs, *signing_keys(zone)] for zone, docs in three_zone_documents().items()}
    with caplog.at_level("WARNING"):
        monitor = run_program(program(cfg, documents), preview=False)
    keys = [r for r in monitor.registrations if r.parent.endswith("exported") and "signing-key" in r.name]
    assert sorted(r.name for r in keys) == ["secret-kong-mesh-system-user-token-signing-key-1",
                                            "secret-kong-mesh-system-zone-token-signing-key-1"]
    upgrade_1 = set(monitor.one(COMMAND, "zone-zone-1-upgrade").dependencies)
    upgrade_2 = set(monitor.one(COMMAND, "zone-zone-2-upgrade").dependencies)
    assert {r.urn for r in keys} <= upgrade_1 and not {r.urn for r in keys} & upgrade_2
    warned = " ".join(r.getMessage() for r in caplog.records)
    for zone in ("zone-2", "zone-3"):
        assert (f"{zone}: its token signing keys (user-token-signing-key-1, zone-token-signing-key-1) "
                "are not copied to the global, which keeps zone-1's") in warned
    assert "zone-1: its token signing keys" not in warned


def test_a_zones_stack_never_replaces_the_globals_signing_keys(caplog):
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global", zones=ZONES[:1],
                           **{"global": {"kubeContext": "mesh-global", "apiToken": "global-admin"}})
    documents = {"zone-1": [*three_zone_documents()["zone-1"], *signing_keys("zone-1")]}
    with caplog.at_level("WARNING"):
        monitor = run_program(program(cfg, documents), preview=False,
                              stack_outputs={"kdsUrl": "grpcs://kds:5685", "kdsCaCert": "ca"})
    assert not [r for r in monitor.registrations if "signing-key" in r.name]
    assert "a zones stack never replaces the keys of a global another stack owns" in caplog.text


def test_copied_signing_keys_are_never_changed_or_deleted_by_a_later_run():
    """If the first zone goes back, leaves or moves, a later run would copy another zone's keys:
    the copies ignore changes to their data and are retained, so tokens signed with the keys the
    global holds keep validating."""
    cfg = factories.config(zones=ZONES)
    documents = {zone: [*docs, *signing_keys(zone)] for zone, docs in three_zone_documents().items()}
    monitor = run_program(program(cfg, documents), preview=False)
    keys = [r for r in monitor.registrations if r.parent.endswith("exported") and "signing-key" in r.name]
    assert keys and all(r.ignore_changes == ["data", "type"] and r.retain_on_delete for r in keys)
    others = [r for r in monitor.registrations if r.parent.endswith("exported") and r not in keys]
    assert others and not [r for r in others if r.ignore_changes]


def test_copied_signing_keys_take_over_the_keys_the_globals_control_plane_made_at_start():
    """The global's kuma-cp writes its own signing keys and admin token when it starts (field
    manager kuma-cp): a server-side apply of the copies conflicts on `.data.value` unless forced
    (seen with the real kuma-cp 2.14.3, tier 2). Only those copies force: the others meet no
    object of kuma-cp's."""
    cfg = factories.config(zones=ZONES)
    documents = {zone: [*docs, *signing_keys(zone)] for zone, docs in three_zone_documents().items()}
    monitor = run_program(program(cfg, documents), preview=False)
    copies = [r for r in monitor.registrations if r.parent.endswith("exported")]
    forced = [r for r in copies if (r.inputs.get("metadata", {}).get("annotations") or {})
              .get("pulumi.com/patchForce") == "true"]
    assert forced and forced == [r for r in copies if "signing-key" in r.name or "admin-user-token" in r.name]


@pytest.mark.parametrize("preview", [True, False])
def test_no_copy_on_the_global_is_ever_deleted_by_pulumi(preview: bool) -> None:
    """The global pushes its objects to every zone: a delete by Pulumi would reach zones running
    on them (`pulumi destroy` deletes the copies while the global still syncs; a zone leaving the
    config takes the objects only it exported). Every copy is retained on delete."""
    monitor = run_program(program(factories.config(zones=ZONES), three_zone_documents()),
                          preview=preview)
    copies = [r for r in monitor.registrations if r.parent.endswith("exported")]
    assert copies and all(r.retain_on_delete for r in copies)


def test_both_clusters_update_objects_that_already_exist_as_kubectl_apply_does():
    monitor = run_program(program(factories.config(zones=ZONES), three_zone_documents()), preview=False)
    providers = monitor.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 4
    # Adoption is server-side apply's create (pulumi-kubernetes 4.25): never switched off.
    assert all(p.inputs.get("enableServerSideApply") in (None, "true") for p in providers)


def admin_token(zone: str) -> dict[str, Any]:
    """The admin user token every control plane makes at first start: same name, own data."""
    return factories.secret("admin-user-token", kind="system.kuma.io/global-secret", mesh_name=None,
                            value=f"{zone}-admin-token")


@pytest.mark.parametrize("preview", [True, False])
def test_every_zones_admin_token_is_no_conflict_and_the_global_keeps_one(preview: bool) -> None:
    """Each standalone zone exports its own `admin-user-token`: the global takes it from the zone
    whose signing keys it takes (that zone's key signs it), the others stay home."""
    cfg = factories.config(zones=ZONES)
    documents = {zone: [*docs, *signing_keys(zone), admin_token(zone)]
                 for zone, docs in three_zone_documents().items()}
    monitor = run_program(program(cfg, documents), preview=preview)
    tokens = [r for r in monitor.registrations
              if r.parent.endswith("exported") and r.name.endswith("admin-user-token")]
    assert [r.name for r in tokens] == ["secret-kong-mesh-system-admin-user-token"]
    assert tokens[0].ignore_changes == ["data", "type"] and tokens[0].retain_on_delete
    assert tokens[0].urn in monitor.one(COMMAND, "zone-zone-1-upgrade").dependencies
    if not preview:
        assert tokens[0].secret_paths() == ["data"]


def test_a_zones_stack_never_replaces_the_globals_admin_token(caplog: pytest.LogCaptureFixture) -> None:
    cfg = factories.config(role="zones", globalStack="acme/mesh-federation/global", zones=ZONES[:1],
                           **{"global": {"kubeContext": "mesh-global", "apiToken": "global-admin"}})
    documents = {"zone-1": [*three_zone_documents()["zone-1"], admin_token("zone-1")]}
    with caplog.at_level("WARNING"):
        monitor = run_program(program(cfg, documents), preview=False,
                              stack_outputs={"kdsUrl": "grpcs://kds:5685", "kdsCaCert": "ca"})
    assert not [r for r in monitor.registrations if "admin-user-token" in r.name]
    assert "zone-1: its token signing keys and admin token (admin-user-token) are not copied" in caplog.text


def test_the_key_zone_is_the_first_with_signing_keys_not_merely_an_admin_token() -> None:
    """A zone that exported only its admin token (its keys gone or filtered) cannot vouch for a
    token the global would then hold: the keys, and the admin token with them, come from the
    first zone that has keys."""
    cfg = factories.config(zones=ZONES[:2])
    documents = {"zone-1": [*three_zone_documents()["zone-1"], admin_token("zone-1")],
                 "zone-2": [*three_zone_documents()["zone-2"], *signing_keys("zone-2"),
                            admin_token("zone-2")]}
    monitor = run_program(program(cfg, documents), preview=False)
    token = monitor.one("kubernetes:core/v1:Secret", "admin-user-token")
    assert token.urn in monitor.one(COMMAND, "zone-zone-2-upgrade").dependencies
    assert token.urn not in monitor.one(COMMAND, "zone-zone-1-upgrade").dependencies
