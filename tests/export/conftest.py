"""Fixtures: kumactl's upstream test vectors (read in place, never copied)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_zone import FakeZone, Obj, load_types
from zone_data import zone_objects

# The folder beside the repository checkout (../shared/upstream).
UPSTREAM = Path(__file__).resolve().parents[2] / ".." / "shared" / "upstream" / "kuma-v2.14.3"


@pytest.fixture(scope="session")
def upstream() -> Path:
    if not (UPSTREAM / "export-testdata").is_dir():
        pytest.skip(f"kumactl's upstream test vectors are not at {UPSTREAM.resolve()}")
    return UPSTREAM


@pytest.fixture(scope="session")
def resource_types(upstream: Path) -> list[dict[str, Any]]:
    types: list[dict[str, Any]] = load_types(str(upstream / "api" / "_resources.json"))
    return types


@pytest.fixture(scope="session")
def kube_input(upstream: Path) -> Callable[[str, str], dict[str, Any]]:
    def load(kind: str, name: str) -> dict[str, Any]:
        path = upstream / "export-testdata" / f"kube-input.{kind}.{name}.json"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    return load


@pytest.fixture(scope="session")
def golden(upstream: Path) -> Callable[[str], str]:
    def load(name: str) -> str:
        text = (upstream / "export-testdata" / name).read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        # The first line is kumactl's "# Product: ..." banner, not a resource.
        assert lines[0].startswith("# Product:")
        return "".join(lines[1:])

    return load


@pytest.fixture
def zone_factory() -> Iterator[Callable[..., FakeZone]]:
    started: list[FakeZone] = []

    def make(types: list[dict[str, Any]], objects: list[Obj], **kwargs: Any) -> FakeZone:
        zone = FakeZone(types, objects, **kwargs)
        zone.start()
        started.append(zone)
        return zone

    yield make
    for zone in started:
        zone.stop()


@pytest.fixture
def make_zone(
    resource_types: list[dict[str, Any]], zone_factory: Callable[..., FakeZone]
) -> Callable[..., FakeZone]:
    """A fake zone holding the usual objects (zone_data.zone_objects), as `FakeZone(**kwargs)`."""
    def make(**kwargs: Any) -> FakeZone:
        return zone_factory(resource_types, zone_objects(), **kwargs)

    return make


@pytest.fixture(scope="session")
def crd_schemas(upstream: Path) -> dict[str, dict[str, Any]]:
    """kind -> openAPIV3Schema of its kuma.io/v1alpha1 CRD."""
    import yaml

    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted((upstream / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        for version in crd["spec"]["versions"]:
            if version["name"] == "v1alpha1":
                schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.fixture(scope="session")
def validate_crds(crd_schemas: dict[str, dict[str, Any]]) -> Callable[[Any], int]:
    """Validate every kuma.io/v1alpha1 document; return how many were checked."""
    import jsonschema

    validators: dict[str, Any] = {}

    def check(documents: Any) -> int:
        checked = 0
        for doc in documents:
            if doc.get("apiVersion") != "kuma.io/v1alpha1":
                continue
            kind = doc["kind"]
            if kind not in validators:
                schema = crd_schemas.get(kind)
                assert schema is not None, f"no CRD for kind {kind}"
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                validators[kind] = cls(schema)
            validators[kind].validate(doc)
            checked += 1
        return checked

    return check
