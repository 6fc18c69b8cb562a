"""Issue 13: every pack has a starter notebook, `inicio.ipynb`, that loads each table with pandas and with
DuckDB and draws a first chart (the suite runs it with nbclient on a real Jupyter kernel), and a profile can
ask for CSV copies of every table for spreadsheet users."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from harvester.pack import build_packs
from test_packs import THEMES, _with_profile


def run_notebook(pack: Path, scratch: Path) -> dict:
    """Execute a pack's `inicio.ipynb` in a copy of the pack's folder, as a team would open it there."""
    import nbformat
    from nbclient import NotebookClient

    folder = scratch / pack.name
    shutil.copytree(pack, folder)
    document = nbformat.read(folder / "inicio.ipynb", as_version=4)
    NotebookClient(document, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return document


@pytest.mark.timeout(600)
@pytest.mark.parametrize("theme", THEMES)
def test_the_starter_notebook_loads_every_table_and_draws_a_chart(demo, theme: str, tmp_path: Path):
    out, result = demo
    assert result.exit_code == 0, result.output
    latest = (out / "packs" / theme / "latest").resolve()
    names = [r["name"] for r in json.loads((latest / "datapackage.json").read_text())["resources"]]
    document = run_notebook(latest, tmp_path)
    text = "".join(o.get("text", "") for c in document.cells if c.cell_type == "code" for o in c.outputs)
    for name in names:  # each table loaded with pandas, its rows counted again with DuckDB
        assert f"{name}: " in text, name
    shown = [o for c in document.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 1  # the first chart
    assert not any(o.get("output_type") == "error" for c in document.cells if c.cell_type == "code" for o in c.outputs)


def test_csv_copies_for_spreadsheets_when_the_profile_asks(demo, tmp_path: Path):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    settings = _with_profile(copy, "care-economy", "[gates]", "[pack]\ncsv_copies = true\n\n[gates]")
    (built,) = build_packs(settings, ["care-economy"])
    assert built.new
    package = json.loads((built.path / "datapackage.json").read_text())
    for resource in package["resources"]:
        parquet, copy_path = built.path / resource["path"], built.path / resource["csv_copy"]
        data = copy_path.read_bytes()
        assert data.startswith("\ufeff".encode())
        rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
        columns = [c for (c,) in duckdb.sql(f"SELECT column_name FROM (DESCRIBE SELECT * FROM '{parquet}')").fetchall()]
        assert rows[0] == columns
        ((count,),) = duckdb.sql(f"SELECT count(*) FROM '{parquet}'").fetchall()
        assert len(rows) - 1 == count, resource["name"]
    sums = (built.path / "SHA256SUMS").read_text()
    assert all(f"  {r['csv_copy']}\n" in sums for r in package["resources"])
    # without the option, no copies
    plain = (out / "packs" / "care-economy" / "latest")
    assert not (plain / "csv").exists()


def test_a_wrong_csv_copies_value_is_one_line_naming_the_file_and_key(demo, tmp_path: Path, run_cli):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    _with_profile(copy, "care-economy", "[gates]", '[pack]\ncsv_copies = "yes"\n\n[gates]')
    result = run_cli("pack", "build", "care-economy", config=copy / "catalogs.toml")
    assert result.exit_code == 1
    assert result.output == (f"Error: {copy / 'profiles' / 'care-economy.toml'}: pack.csv_copies: expected bool, "
                             "got 'yes'\n")
    _with_profile(copy, "care-economy", "[gates]", "[pack]\ncsv_copy = true\n\n[gates]")
    result = run_cli("pack", "build", "care-economy", config=copy / "catalogs.toml")
    assert result.exit_code == 1 and result.output.endswith("pack.csv_copy: unknown key\n")
