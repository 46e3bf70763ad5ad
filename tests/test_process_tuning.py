"""The program's process puts off full garbage collections, and only those."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from components.process_tuning import postpone_full_collections


@pytest.fixture
def restored_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_full_collections_are_put_off_and_young_ones_kept(restored_thresholds):
    young, middle, full = restored_thresholds
    postpone_full_collections()
    now = gc.get_threshold()
    assert now[:2] == (young, middle), "young-generation collections must run as before"
    assert now[2] >= 100_000 > full, "full collections must wait for many young collections"
    assert gc.isenabled()


def test_the_program_entry_point_sets_it_before_building(restored_thresholds):
    from pathlib import Path

    main = (Path(__file__).resolve().parents[1] / "__main__.py").read_text()
    assert main.index("postpone_full_collections()") < main.index("build(config)")
