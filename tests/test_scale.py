"""Correctness at the size of a national portal: 50,000 datasets, changing while we page."""
from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import load_settings
from harvester.harvest import harvest
from harvester.sandbox import SandboxPortal
from harvester.store import Store

SIZE = 50_000


@pytest.fixture(scope="module")
def big_portal():
    with SandboxPortal(synthetic=SIZE, seed=7) as portal:
        yield portal


def stored(config: Path) -> list[tuple[str, str]]:
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return store.con.execute("SELECT remote_id, raw->>'metadata_modified' FROM datasets "
                                 "WHERE catalog_id = 'synthetic' AND deleted_at IS NULL").fetchall()


@pytest.mark.timeout(600)
def test_fifty_thousand_datasets_changing_while_paging(big_portal, tmp_path):
    config = tmp_path / "catalogs.toml"
    config.write_text(f'[harvester]\ndata_dir = "{tmp_path / "data"}"\n\n[catalogs.synthetic]\n'
                      f'title = "Synthetic"\napi_url = "{big_portal.api_url("synthetic")}"\n', encoding="utf-8")
    settings = load_settings(config, env={})
    faults = big_portal.faults("synthetic")
    faults.mutate_after_pages, faults.mutate_count = 10, 25  # 25 already-read datasets move to the end

    first = harvest(settings)[0]
    assert first.status == "ok" and first.mode == "full" and first.added == SIZE
    served = {d["id"]: d["metadata_modified"] for d in big_portal.datasets("synthetic")}
    rows = stored(config)
    assert len(rows) == len({r[0] for r in rows}) == SIZE
    assert set(r[0] for r in rows) == set(served)

    big_portal.clear_requests()
    again = harvest(settings)[0]
    assert again.mode == "incremental" and again.requests <= 3
    assert again.added == again.deleted == 0
    # The 25 moved ones may come back once as unchanged or updated copies; nothing else is re-read.
    assert again.updated + again.unchanged <= 25 + 5
    assert dict(stored(config)) == served

    ids = list(served)
    for dataset_id in ids[:3]:
        big_portal.delete("synthetic", dataset_id)
    for dataset_id in ids[100:105]:
        big_portal.touch("synthetic", dataset_id, title="Título nuevo")
    third = harvest(settings)[0]
    assert (third.deleted, third.updated) == (3, 5) and third.status == "ok"
    now_served = {d["id"]: d["metadata_modified"] for d in big_portal.datasets("synthetic")}
    assert dict(stored(config)) == now_served
