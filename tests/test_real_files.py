"""Real portal files through every stage: the sandbox serves each file of the real-file corpus
(tests/real_files.py) as the resource of a dataset; harvest, fetch, validate, profile and a pack run on
them as a user would run them, and what comes out is held against the source bytes:

- no value is lost: per column, every source cell that is not empty and not a declared placeholder is a
  non-null Parquet cell that reads back as the same value (leading zeros kept, decimals kept);
- no file is skipped in silence: every fetched file that may be a table has a validation of a table, or
  one that says why it holds none.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import duckdb
import pytest
from click.testing import CliRunner

from conftest import FAST, _guard, toml_value
from harvester.cli import cli
from harvester.csvscan import PLACEHOLDER_SPELLINGS
from harvester.sandbox import SandboxPortal, server
from harvester.sandbox.sites import SANDBOX
from real_files import CorpusError, RealFile, load_corpus, names

SITE = "cdmx"
ORG = "archivo-de-archivos-reales"
CATALOG = "reales"
THEME = "archivos-reales"
PLACEHOLDERS = frozenset(PLACEHOLDER_SPELLINGS)
MAY_BE_TABLES = ("CSV", "TSV", "TEXT", "XLSX", "XLS", "JSON", "GEOJSON", "ZIP", "SHP-ZIP", "DBF")


def dataset_name(file: str) -> str:
    return "real-" + file.split("__", 1)[0]


def _datasets(corpus: dict[str, RealFile]) -> Iterator[dict[str, Any]]:
    """One realistic dataset per real file (files sharing a publisher prefix share a dataset)."""
    by_dataset: dict[str, list[RealFile]] = {}
    for real in corpus.values():
        by_dataset.setdefault(dataset_name(real.name), []).append(real)
    for name, files in by_dataset.items():
        yield {
            "name": name, "title": f"Archivo real: {name.removeprefix('real-').replace('-', ' ')}",
            "notes": f"Archivos publicados por el portal, copiados byte por byte. Fuente: {files[0].source_url}",
            "organization": {"id": ORG, "name": ORG, "title": "Archivos reales de portales"}, "owner_org": ORG,
            "license_id": "cc-by", "tags": [{"name": "archivos-reales"}],
            "resources": [{"id": f"{name}-{i}", "name": real.name, "format": real.format.split()[0],
                           "url": f"{SANDBOX}/files/{SITE}/{name}/{quote(real.name)}"} for i, real in enumerate(files)]}


@pytest.fixture(scope="module")
def corpus() -> dict[str, RealFile]:
    try:
        return load_corpus()
    except CorpusError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def run(_portal: SandboxPortal, corpus: dict[str, RealFile], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage over the corpus, once for the module: the data folder."""
    home = tmp_path_factory.mktemp("real-files")
    served = home / "served"
    for dataset in _datasets(corpus):
        folder = served / SITE / dataset["name"]
        folder.mkdir(parents=True)
        for resource in dataset["resources"]:
            # on disk as the request's path spells it: the sandbox does not unquote '%20'
            shutil.copyfile(corpus[resource["name"]].path, folder / quote(resource["name"]))
    profiles = home / "profiles"
    profiles.mkdir()
    datasets = list(_datasets(corpus))
    include = toml_value([f"{CATALOG}/{d['name']}" for d in datasets])
    (profiles / f"{THEME}.toml").write_text(
        f'[theme]\nname = "{THEME}"\ntitle = "Archivos reales"\nproblem_es = "Archivos reales de portales."\n'
        f'problem_en = "Real portal files."\n\n[match]\nterms = ["archivos reales"]\n'
        f"include = {include}\n", encoding="utf-8")
    config = home / "catalogs.toml"
    config.write_text("\n".join([
        "[harvester]", f"data_dir = {toml_value(str(home / 'data'))}", f"profiles = {toml_value(str(profiles))}", "",
        "[defaults]", *(f"{k} = {toml_value(v)}" for k, v in FAST.items()), "",
        f"[catalogs.{CATALOG}]", 'title = "Archivos reales"', f"api_url = {toml_value(_portal.api_url(SITE))}",
        'kind = "ckan"', f"organization = {toml_value(ORG)}", "",
        "[fetch]", 'allow_hosts = ["127.0.0.1"]', ""]), encoding="utf-8")
    _portal.reset()
    for dataset in datasets:
        _portal.add(SITE, dataset)
    with pytest.MonkeyPatch.context() as patch:
        _guard(patch)
        patch.delenv("HARVESTER_CONFIG", raising=False)
        patch.setattr(server, "FILES", served)
        for stage in (["harvest", CATALOG], ["fetch", CATALOG], ["validate", CATALOG], ["profile", CATALOG],
                      ["pack", "build", THEME]):
            result = CliRunner().invoke(cli, ["--config", str(config), "--quiet", *stage], catch_exceptions=False)
            assert result.exit_code == 0, f"{' '.join(stage)}: {result.output}"
    _portal.reset()
    return home / "data"


def _query(data: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(data / "catalog.duckdb"), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _fetched(data: Path, file: str) -> dict[str, Any]:
    rows = _query(data, "SELECT f.*, r.name AS resource_name FROM resource_files f JOIN resources r "
                        "ON r.catalog_id = f.catalog_id AND r.dataset_id = f.dataset_id AND r.remote_id = f.resource_id "
                        "WHERE f.catalog_id = ? AND r.name = ?", [CATALOG, file])
    assert len(rows) == 1, f"{file}: {len(rows)} fetched files"
    return rows[0]


def _validations(data: Path, fetched: dict[str, Any]) -> list[dict[str, Any]]:
    return _query(data, "SELECT * FROM validations WHERE catalog_id = ? AND dataset_id = ? AND resource_id = ? "
                        "ORDER BY part", [fetched["catalog_id"], fetched["dataset_id"], fetched["resource_id"]])


def _provenance(data: Path) -> list[dict[str, Any]]:
    latest = data / "packs" / THEME / "latest"
    return [{**r, "path": latest / r["parquet"]}
            for r in json.loads((latest / "provenance.json").read_text(encoding="utf-8"))["resources"]]


def _source_rows(path: Path, encoding: str, delimiter: str, header_row: int) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a table, read by Python's csv as frictionless reads them."""
    codec = "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding
    with path.open(encoding=codec, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    return rows[header_row - 1], rows[header_row:]


def _same(source: str, value: Any) -> bool:
    """Whether a Parquet cell holds the source cell's value (the pack trims the spaces around a cell)."""
    text = source.strip(" ")
    if isinstance(value, str):
        return value == text
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return str(value) == text.lstrip("+") or (text.startswith("+") and str(value) == text[1:])
    if isinstance(value, float):
        try:
            return math.isclose(float(text.replace(",", ".")), value, rel_tol=1e-15, abs_tol=0.0)
        except ValueError:
            return False
    if isinstance(value, dt.date):
        return value.isoformat() == text or value.strftime("%d/%m/%Y") == text or \
            value == _dmy(text)
    return False


def _dmy(text: str) -> dt.date | None:
    try:
        day, month, year = (int(p) for p in text.split("/"))
        return dt.date(year, month, day)
    except ValueError:
        return None


def lost_values(source: Path, encoding: str, delimiter: str, header_row: int, parquet: Path) -> dict[str, Any]:
    """Per column, the source cells (not empty, not a declared placeholder) the Parquet file does not hold
    as the same value: {'rows_in', 'rows_out', 'lost': {column: (count, first examples)}}."""
    header, rows = _source_rows(source, encoding, delimiter, header_row)
    with duckdb.connect() as con:
        table = con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall()
        columns = [d[0] for d in con.description]
    width = len(header)
    rows = [r for r in rows if r]  # an empty line is no record (csv gives []); a blank row of commas is one
    lost: dict[str, tuple[int, list[str]]] = {}
    for position, original in enumerate(header):
        count, examples = 0, []
        for index, row in enumerate(rows):
            cell = row[position] if position < len(row) else ""
            if not cell.strip(" ") or cell.strip(" ") in PLACEHOLDERS:
                continue
            value = table[index][position] if index < len(table) and position < width else None
            if value is None or not _same(cell, value):
                count += 1
                if len(examples) < 3:
                    examples.append(f"row {header_row + index + 1}: {cell[:40]!r} -> {value!r}"[:120])
        if count:
            lost[f"{position + 1}:{original.strip()[:30]}"] = (count, examples)
    return {"rows_in": len(rows), "rows_out": len(table), "columns": len(columns), "lost": lost}


# The corpus itself ----------------------------------------------------------------------------------------

def test_the_corpus_is_the_manifests(corpus: dict[str, RealFile]) -> None:
    assert sorted(corpus) == sorted(names()) and len(corpus) == 30


def test_a_missing_or_changed_corpus_is_one_clear_line(tmp_path: Path, corpus: dict[str, RealFile]) -> None:
    with pytest.raises(CorpusError, match=r"^real-file corpus not found at .*nowhere.*HARVESTER_REAL_FILES.*"
                                          r"without internet\)$"):
        load_corpus(tmp_path / "nowhere")
    copy = tmp_path / "copy"
    shutil.copytree(next(iter(corpus.values())).path.parent, copy)
    (copy / "zapopan__Tianguis.csv").chmod(0o644)
    with (copy / "zapopan__Tianguis.csv").open("ab") as handle:
        handle.write(b"x")
    (copy / "inegi-mg__00ent.dbf").chmod(0o644)
    (copy / "inegi-mg__00ent.dbf").unlink()
    with pytest.raises(CorpusError) as caught:
        load_corpus(copy)
    message = str(caught.value)
    assert "\n" not in message
    assert "1 missing (inegi-mg__00ent.dbf)" in message
    assert "1 with a sha256 other than the manifest's (zapopan__Tianguis.csv)" in message


def test_the_corpus_is_found_beside_the_clone_or_where_the_variable_points(tmp_path: Path) -> None:
    from real_files import REPO, corpus_dir
    assert corpus_dir({}) == REPO.parent / "shared" / "real-files"
    assert corpus_dir({"HARVESTER_REAL_FILES": str(tmp_path)}) == tmp_path


# Every stage, file by file ----------------------------------------------------------------------------

@pytest.mark.parametrize("file", names())
def test_each_real_file_is_fetched_and_validated_or_says_why_not(run: Path, file: str) -> None:
    fetched = _fetched(run, file)
    assert fetched["status"] == "ok", fetched
    validations = _validations(run, fetched)
    if fetched["sniffed_format"] in MAY_BE_TABLES:
        assert validations, f"{file} ({fetched['sniffed_format']}) was skipped without a word"
    for v in validations:
        if v["valid"] is None:  # no table: the stated reason is the source
            assert v["source"].endswith("without tables") or "no table" in (v["source"] or ""), v
        else:
            assert v["engine"] in ("duckdb", "frictionless"), v


@pytest.mark.parametrize("file", names())
def test_no_value_is_lost_on_the_way_to_the_pack(run: Path, file: str) -> None:
    fetched = _fetched(run, file)
    tables = [v for v in _validations(run, fetched) if v["delimiter"] is not None]
    packed = {(p["resource_id"], p["part"] or ""): p for p in _provenance(run)}
    for v in tables:
        source = run / (v["table_path"] or fetched["path"])
        entry = packed.get((v["resource_id"], v["part"] or ""))
        assert entry is not None, f"{file} {v['part']}: validated but not in the pack"
        result = lost_values(source, v["encoding"], v["delimiter"], v["header_row"], entry["path"])
        assert result["lost"] == {}, f"{file} {v['part']}: {result['lost']}"
        assert result["rows_out"] == result["rows_in"], f"{file} {v['part']}: {result}"
