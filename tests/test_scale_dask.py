"""Issue 12: validate and profile as Dask distributed tasks (harvester/scale.py) on a real LocalCluster of two
worker processes, against the sandbox: the same store as a run here; a worker killed in mid-task has its task
run again elsewhere, and each result comes back once."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import query_store
from harvester.config import load_settings
from harvester.errors import ConfigError
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.scale import ScaleConfig, parse_scale, run_tasks

pytestmark = pytest.mark.timeout(300)

VALIDATIONS = ("SELECT resource_id, part, engine, valid, rows, error_count, errors_by_type, encoding, delimiter, "
               "header_row FROM validations ORDER BY ALL")
COLUMNS = ("SELECT resource_id, part, position, name, type, rows, missing_share, distinct_count, min, max, alerts, "
           "details "
           "FROM column_profiles ORDER BY resource_id, part, position")


def _fetched(make_config, tmp_path: Path, name: str) -> Path:
    config = make_config("cdmx", data_dir=tmp_path / name)
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings)[0].status == "ok"
    assert fetch(settings).by_status.get("ok", 0) > 20
    return config


def test_validate_and_profile_on_a_local_cluster_store_what_a_run_here_stores(portal, make_config, tmp_path,
                                                                               run_cli):
    here, there = _fetched(make_config, tmp_path, "here"), _fetched(make_config, tmp_path, "cluster")
    for command in ("validate", "profile"):
        assert run_cli(command, config=here).exit_code == 0
        done = run_cli(command, "--dask", "local", config=there)
        assert done.exit_code == 0, done.output
    validations = query_store(here, VALIDATIONS)
    assert len(validations) > 20 and validations == query_store(there, VALIDATIONS)
    columns = query_store(here, COLUMNS)
    assert len(columns) > 100 and columns == query_store(there, COLUMNS)
    # and nothing is recorded twice: one row per (resource, part) and per column
    assert len({(v["resource_id"], v["part"]) for v in query_store(there, VALIDATIONS)}) == len(validations)


def _double_once_killing(item: tuple[int, str]) -> int:
    """A task that kills its worker process the first time it meets item 3 (a marker file remembers)."""
    number, marker = item
    if number == 3 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        os._exit(1)  # the worker dies in mid-task, as under an OOM kill
    return number * 2


def test_a_worker_killed_in_mid_task_has_its_task_run_again_elsewhere(tmp_path):
    marker = str(tmp_path / "killed-once")
    items = [(n, marker) for n in range(8)]
    results = list(run_tasks(ScaleConfig(dask="local", local_workers=2), _double_once_killing, items))
    assert Path(marker).exists()  # a worker did die
    assert sorted(r for _, r in results) == [n * 2 for n in range(8)]  # every task once, none lost
    assert sorted(i for i, _ in results) == items


def test_run_here_keeps_the_order_and_needs_no_cluster():
    assert list(run_tasks(ScaleConfig(), lambda n: n + 1, [3, 1, 2])) == [(3, 4), (1, 2), (2, 3)]


@pytest.mark.parametrize("table, message", [
    ({"dask": 5}, "[scale] dask: expected an address"),
    ({"dask": ""}, "[scale] dask: expected an address"),
    ({"local_workers": 0}, "[scale] local_workers: expected a whole number of at least 1"),
    ({"workers": 2}, "[scale]: unknown key 'workers'"),
    ("tcp://x", "[scale] must be a table")])
def test_a_wrong_scale_table_is_one_line(table, message):
    with pytest.raises(ConfigError) as caught:
        parse_scale(table, "catalogs.toml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unreachable_scheduler_is_one_line_naming_it(portal, make_config, tmp_path, run_cli):
    config = _fetched(make_config, tmp_path, "unreachable")
    done = run_cli("validate", "--dask", "tcp://127.0.0.1:9", config=config)
    assert done.exit_code != 0
    lines = [line for line in done.output.strip().splitlines() if line]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in lines[-1] and "Traceback" not in done.output
