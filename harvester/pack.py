"""`harvester pack build`: a theme's accepted datasets as a validated, documented Parquet pack.

Into `datasets/packs/<name>/<version>/`:
- `data/*.parquet` (zstd), one per table: snake_case column names readable in Spanish (colnames.py; the
  originals in the metadata), the types the profile found, placeholder missing values as nulls, text in
  UTF-8; sibling files of one dataset that are the same table over time stacked into one (packstack.py);
- `datapackage.json`, a Frictionless Data Package of those files, with each table's changes, remaining
  validation errors and profile alerts explained (packnotes.py) and the dictionary's descriptions and value
  labels (packdict.py);
- `README.md` (Spanish) and `README.en.md` (English), each linking to the other: what the pack is for, per
  table what was changed and what is wrong, a data dictionary, sources, publishers, licences, and how to
  load a table in one line with pandas, DuckDB and R arrow (packreadme.py; the text through the gettext
  catalogs, numbers and days in each language's conventions: harvester/i18n.py);
- `docs/` (the datasets' PDF and DOC resources), `inicio.ipynb` (a starter notebook, packnotebook.py) and,
  with `[pack] csv_copies = true`, `csv/` (a CSV copy of each table);
- `expectations.json` (the theme's Great Expectations results), `provenance.json` (source URL, dataset
  and resource ids, sha256 of each source and each Parquet file), `allies.json` (the publishers and
  their contact points);
- `INPUTS` (the profile's hash, this code's version and each source table's sha256: when it is unchanged
  the pack is not built again), `SHA256SUMS` and `<name>-<version>.zip` holding all of it.

The version is the date the newest input last changed plus a hash of the contents, and nothing in the
files depends on the time of the build: unchanged inputs rebuild to byte-identical files under the same
version. A pack is built in a hidden folder and renamed into place; `latest` (a symlink) moves only
after that succeeded, so a failed build never replaces the last good pack.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from harvester.candidates import Candidate, find_candidates, unknown_refs
from harvester.colnames import repair_mojibake, unique as _unique
from harvester.packdict import Dictionary, dcat_fields, named_dictionary, read_dictionary
from harvester.packnotebook import notebook
from harvester.packnotes import Note, alert_detail, note, rows_where
from harvester.i18n import LANGUAGES, translations
from harvester.packstack import (ORIGIN_COLUMNS, ORIGIN_NAMES, Alignment, Period, align, needed, period_of,
                                 too_different, why_matched)
from harvester.config import Settings
from harvester.model import ColumnProfile, PackTable, ResourceKey, TableExpectations
from harvester.errors import HarvesterError
from harvester.i18n import N_, NP_
from harvester.expectations import needed_columns, run_expectations
from harvester.csvscan import declared_strings, utf8_copy
from harvester.packreadme import FILES as README_FILES, readme
from harvester.packtable import (BOTH, PackField, field_descriptor, left_out_of, one_thread, pack_connection,
                                 write_table)
from harvester.text import normalize
from harvester.store import Store
from harvester.themes import Theme, load_theme, theme_path
from harvester.sql import ident as _q, literal as _lit

ZIP_TIME = (2024, 1, 1, 0, 0, 0)
STORED = (".parquet", ".zip", ".pdf", ".docx", ".xlsx", ".pptx", ".png", ".jpg")
"""Files already compressed: stored in the pack's zip as they are (deflating zstd Parquet again costs time
and saves nothing)."""


@dataclass
class PackResult:
    name: str
    version: str
    path: Path
    tables: int
    datasets: int
    rejected: int
    expectations_failed: int
    new: bool
    """False when the same version already existed (nothing changed upstream)."""
    files: list[str] = field(default_factory=list)
    unknown_refs: list[str] = field(default_factory=list)
    """The profile's include/exclude refs that name no harvested dataset (`include cdmx/no-existe`)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `harvester pack build --json`."""
        return {**self.__dict__, "path": str(self.path)}




def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_parquet(con: duckdb.DuckDBPyConnection, source: Path, table: PackTable,
                  profiles: dict[str, ColumnProfile], target: Path,
                  declared: frozenset[str] = frozenset(), text: frozenset[str] = frozenset(), *,
                  state: str | None = None) -> list[PackField]:
    """One table as zstd Parquet; returns its fields (name, original name, type, profile)."""
    v = table.validation
    return write_table(con, source, v.delimiter, v.header_row, profiles, target, declared, text, state=state,
                       sha256=v.sha256)


MAX_NAME = 150
"""The longest table name (and Parquet file name, before `.parquet`): far under any file system's 255."""


def _file_name(table: PackTable, taken: set[str], stack: str | None = None) -> str:
    """`<catalog>__<dataset>__<resource>[__<sheet or member>]`, each piece in snake_case, unique; a stack of
    files is `<catalog>__<dataset>__<their name without the periods>`."""
    pieces = [table.validation.catalog_id, table.dataset.name, stack or table.resource_name or table.validation.resource_id]
    if table.validation.part and not stack:
        pieces.append(table.validation.part.split(":", 1)[-1])
    name = "__".join(re.sub(r"[^a-z0-9]+", "_", normalize(str(p))).strip("_") or "x" for p in pieces)
    if len(name) > MAX_NAME:  # a portal's 10,000-character name: bounded, and still one name per table
        name = name[:MAX_NAME - 13].rstrip("_") + "__" + hashlib.sha256(name.encode()).hexdigest()[:11]
    return _unique(name, taken)


def build_pack(settings: Settings, theme: Theme) -> PackResult:
    """Build one theme's pack and publish it (see the module doc)."""
    with Store(settings.paths.database, read_only=True) as store:
        found = find_candidates(store, theme)
        unknown = unknown_refs(store, theme)
        accepted = [c for c in found if c.accepted]
        tables = store.pack_tables([(c.catalog, c.remote_id) for c in accepted])
        # the same file in two accepted datasets (republished): packed once, from the dataset that had it first
        tables = _published_elsewhere(tables, accepted, store.file_copies(), store.dataset_names())
        profiles = [{c.name: c for c in store.table_columns(t.validation.key, t.validation.part)} for t in tables]
        docs = _docs(store, [(c.catalog, c.remote_id) for c in accepted], tables)
    if not tables:
        raise HarvesterError(NP_("pack %(theme)s: no accepted dataset has a validated table (%(accepted)s of %(num)s "
                                 "candidate passes the gates)",
                                 "pack %(theme)s: no accepted dataset has a validated table (%(accepted)s of %(num)s "
                                 "candidates pass the gates)"), num=len(found), theme=theme.name,
                             accepted=len(accepted))
    home = settings.paths.packs / theme.name
    home.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(home)
    inputs = _inputs(theme, tables, docs)
    latest = home / "latest"
    if latest.is_dir() and (latest / "INPUTS").is_file() and (latest / "INPUTS").read_text(encoding="utf-8") == inputs:
        return _result(theme, found, accepted, tables, latest.resolve(), new=False, unknown=unknown)  # no work
    staging = home / f".build-{uuid.uuid4().hex[:12]}"
    try:
        (staging / "data").mkdir(parents=True)
        (staging / "INPUTS").write_text(inputs, encoding="utf-8")
        version = _assemble(settings, theme, accepted, tables, profiles, staging, docs)
        final = home / version
        new = not final.exists()
        if new:
            os.rename(staging, final)
        else:
            shutil.rmtree(staging)  # the same inputs built the same pack before
        _point_latest(home, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _result(theme, found, accepted, tables, final, new=new, unknown=unknown)


def _result(theme: Theme, found: list[Candidate], accepted: list[Candidate], tables: list[PackTable],
            folder: Path, new: bool, unknown: list[str]) -> PackResult:
    report = json.loads((folder / "expectations.json").read_text(encoding="utf-8"))
    packed = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))["resources"]
    return PackResult(name=theme.name, version=folder.name, path=folder, tables=len(packed),
                      datasets=len({(t.validation.catalog_id, t.validation.dataset_id) for t in tables}),
                      rejected=len(found) - len(accepted),
                      expectations_failed=sum(not r["success"] for r in report["tables"]), new=new,
                      files=sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()),
                      unknown_refs=unknown)


def _published_elsewhere(tables: list[PackTable], accepted: list[Candidate], copies: dict[ResourceKey, ResourceKey],
                         names: dict[tuple[str, str], str | None]) -> list[PackTable]:
    """The tables to pack, each once: a table whose file another accepted table holds too is left out, and the
    table kept names where else it is published: every other dataset holding the same file (`copies`: each
    copy's kept resource, by the store; accepted or not, on any portal) and the copies of its own dataset in
    other catalogs (such as the Xalapa slice of the federal portal). `names`: the datasets' names."""
    same_file: dict[ResourceKey, set[ResourceKey]] = {}
    for copy, original in copies.items():
        same_file.setdefault(original, {original}).add(copy)
    elsewhere = {(c.catalog, c.remote_id): c.also_published for c in accepted}

    def refs(t: PackTable) -> tuple[str, ...]:
        v = t.validation
        holders = same_file.get(copies.get(v.key, v.key), set())
        found = {f"{k.catalog_id}/{names.get((k.catalog_id, k.dataset_id)) or k.dataset_id}" for k in holders
                 if (k.catalog_id, k.dataset_id) != (v.catalog_id, v.dataset_id)}
        return tuple(sorted(found | set(elsewhere.get((v.catalog_id, v.dataset_id), ()))))

    held = {t.validation.key for t in tables}
    return [replace(t, also_published=refs(t)) for t in tables if copies.get(t.validation.key) not in held]


def _inputs(theme: Theme, tables: list[PackTable], docs: list[PackDoc]) -> str:
    """What a pack is built from: the profile's bytes, this code's version and every source table. The same
    text means the same pack, so a nightly run with nothing changed upstream builds nothing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code = version("harvester")
    except PackageNotFoundError:
        code = "unknown"
    lines = [f"harvester {code}", f"profile {hashlib.sha256(theme.path.read_bytes()).hexdigest()}"]
    lines += [f"table {t.validation.catalog_id} {t.validation.dataset_id} {t.validation.resource_id} "
              f"{t.validation.part or '-'} {t.validation.sha256}" + "".join(f" {ref}" for ref in t.also_published)
              for t in tables]
    lines += [f"doc {d.name} {d.sha256}" for d in docs]
    return "\n".join(lines) + "\n"


def _remove_leftovers(home: Path, older_than: float = 3600.0) -> None:
    """Build folders a killed build left behind; one younger than an hour may be another build's."""
    import time

    for entry in home.glob(".build-*"):
        try:
            if time.time() - entry.stat().st_mtime > older_than:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            pass  # its own build finished meanwhile


def _point_latest(home: Path, version: str) -> None:
    temporary = home / f".latest-{uuid.uuid4().hex[:8]}"
    os.symlink(version, temporary)
    os.replace(temporary, home / "latest")


def _assemble(settings: Settings, theme: Theme, accepted: list[Candidate], tables: list[PackTable],
              profiles: list[dict[str, ColumnProfile]], staging: Path, docs: list[PackDoc]) -> str:
    spill = tempfile.TemporaryDirectory(prefix="harvester-pack-")
    con = pack_connection(Path(spill.name))
    resources, provenance, results = [], [], []
    taken: set[str] = set()
    try:
        for unit in plan_units(tables, profiles):
            table = unit.tables[0]
            name = _file_name(table, taken, unit.label if len(unit.tables) > 1 else None)
            target = staging / "data" / f"{name}.parquet"
            if len(unit.tables) == 1:
                fields = _write_one(con, settings, table, unit.profiles[0], target, staging)
                rows = _rows(con, target)
                notes = table_notes(table, fields, rows) + unit.apart
                entry = _provenance(table, name, target, rows)
            else:
                fields, notes, entry = _write_stack(con, settings, unit, name, target, Path(spill.name), staging)
                rows = entry["rows"]
            # the expectations read the source's columns: not the INEGI companions the pack added beside them
            # (`alcaldia*` means the names as published, not `alcaldia_cve_mun`), and not a data dictionary
            # (its rows describe the data's columns: it holds none of them)
            original = {f.name: f.original for f in fields if not f.companion}
            dictionary = len(unit.tables) == 1 and named_dictionary(table.resource_name, table.validation.part,
                                                                    Path(table.path).name)
            wanted = set() if dictionary else needed_columns(list(original.values()), theme.expectations,
                                                              table.dataset.ref)
            if wanted or (theme.expectations.required.get(table.dataset.ref) and not dictionary):
                import pandas as pd  # only for a table with something to check

                # only the columns the expectations read go to pandas: a million-row table stays in DuckDB
                frame = pd.read_parquet(target, columns=[c for c, o in original.items() if o in wanted])
                frame.attrs["original_names"] = original
                results.append(run_expectations(frame, theme.expectations, table.dataset.ref, name))
            else:  # what run_expectations says of a table it has nothing to check in
                results.append(TableExpectations(table=name, success=True))
            _nulls_and_examples(con, target, fields, rows)
            resource = _resource(unit, name, fields, rows, entry)
            resource["notes"] = notes
            resource["descriptor"].update(_notes_json(notes))
            resources.append(resource)
            provenance.append(entry)
        _describe(con, resources, staging)
        if theme.csv_copies:
            _csv_copies(con, resources, staging)
    finally:
        con.close()
        spill.cleanup()
    for doc in docs:
        (staging / "docs").mkdir(exist_ok=True)
        shutil.copyfile(settings.paths.under_root(doc.path), staging / "docs" / doc.name)
    (staging / "inicio.ipynb").write_text(notebook(theme.title, theme.problem_es, theme.problem_en, [
        (r["descriptor"]["name"], r["descriptor"]["path"],
         [(f.name, f.type, f.profile.distinct_count if f.profile else None) for f in r["fields"]]) for r in resources]),
        encoding="utf-8")
    allies = _allies(tables, accepted)
    _write_json(staging / "datapackage.json", {
        "name": theme.name, "title": theme.title, "description": f"{theme.problem_es}\n\n{theme.problem_en}",
        "profile": "data-package", "resources": [r["descriptor"] for r in resources]})
    _write_json(staging / "provenance.json", {"theme": theme.name, "resources": provenance,
                                              "docs": [{"path": f"docs/{d.name}", "dataset": d.dataset,
                                                        "source_url": d.url, "sha256": d.sha256} for d in docs]})
    _write_json(staging / "allies.json", {"theme": theme.name, "allies": allies})
    _write_json(staging / "expectations.json", {"theme": theme.name, "tables": [r.as_dict() for r in results]})
    for lang, readme_name in README_FILES.items():  # both, whoever builds it: the same bytes in every locale
        (staging / readme_name).write_text(readme(theme, resources, allies, results, docs, lang), encoding="utf-8")
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    sums = {str(p.relative_to(staging)): _sha256(p) for p in files}
    content = hashlib.sha256("".join(f"{h}  {n}\n" for n, h in sums.items()).encode()).hexdigest()
    newest = max((t.changed_at for t in tables if t.changed_at), default=None)
    version = f"{newest.date().isoformat() if newest else 'undated'}-{content[:12]}"
    (staging / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()), encoding="utf-8")
    _zip(staging, staging / f"{theme.name}-{version}.zip")
    return version


DOC_FORMATS = ("PDF", "DOC", "DOCX", "ODT", "RTF", "PPT", "PPTX", "ODP")
"""Documentation resources a pack copies under `docs/`."""


@dataclass(frozen=True)
class PackDoc:
    """A documentation file of an accepted dataset (a PDF, a DOC), copied under `docs/`."""

    name: str
    """Its file name in `docs/`: `<catalog>__<dataset>__<resource>.<ext>`."""
    path: str
    sha256: str | None
    url: str | None
    dataset: str


def _docs(store: Store, keys: list[tuple[str, str]], tables: list[PackTable]) -> list[PackDoc]:
    """The fetched documentation resources (PDF, DOC, ...) of the datasets that have a table in the pack."""
    packed = {(t.validation.catalog_id, t.validation.dataset_id): t.dataset for t in tables}
    found, taken = [], set()
    for scored in store.scored_resources([(c, d) for c, d in keys if (c, d) in packed]):
        r = scored.resource
        if scored.format not in DOC_FORMATS:
            continue
        check = store.link_check(ResourceKey(r.catalog_id, r.dataset_id, r.remote_id))
        if check is None or not check.path or check.status not in ("ok", "not_modified"):
            continue
        dataset = packed[(r.catalog_id, r.dataset_id)]
        stem = "__".join(re.sub(r"[^a-z0-9]+", "_", normalize(str(p))).strip("_") or "x"
                         for p in (r.catalog_id, dataset.name, r.name or r.remote_id))[:MAX_NAME]
        name = _unique(stem, taken) + "." + scored.format.lower()
        found.append(PackDoc(name=name, path=check.path, sha256=check.sha256, url=r.url, dataset=dataset.ref))
    return found


def _describe(con: duckdb.DuckDBPyConnection, resources: list[dict[str, Any]], staging: Path) -> None:
    """Descriptions and value labels for every column a dictionary table of its dataset, or the DCAT `field`
    metadata of its distribution, describes (harvester/packdict.py); the descriptors are written again."""
    books: dict[str, list[tuple[str, Dictionary]]] = {}
    for resource in resources:
        unit: Unit = resource["unit"]
        table = unit.tables[0]
        if len(unit.tables) > 1:
            continue
        fields = [f for f in resource["fields"] if f.name not in ORIGIN_COLUMNS]
        named = named_dictionary(table.resource_name, table.validation.part, Path(table.path).name)
        if not named and not any(f.name in ("campo", "variable", "columna", "nombre_del_campo") for f in fields):
            continue
        parquet = staging / resource["descriptor"]["path"]
        select = ", ".join(_q(f.name) for f in fields)
        rows = con.execute(f"SELECT {select} FROM read_parquet({_lit(str(parquet))}) LIMIT 20000").fetchall()
        book = read_dictionary(_label(table), [f.name for f in fields], [f.original for f in fields], rows, named)
        if book:
            books.setdefault(table.dataset.ref, []).append((resource["descriptor"]["name"], book))
    for resource in resources:
        unit = resource["unit"]
        sources = [b for name, b in books.get(unit.tables[0].dataset.ref, []) if name != resource["descriptor"]["name"]]
        sources += [b for t in unit.tables if (b := dcat_fields(t.dataset.raw, t.url))]
        if not sources:
            continue
        for f in resource["fields"]:
            for book in sources:
                text, labels = book.describe(f.original)
                if text or labels:
                    f.description, f.value_labels, f.described_by = text, labels, book.source
                    break
        resource["descriptor"]["schema"] = {"fields": [field_descriptor(f) for f in resource["fields"]]}


def _csv_copies(con: duckdb.DuckDBPyConnection, resources: list[dict[str, Any]], staging: Path) -> None:
    """`csv/<table>.csv` beside each Parquet file, for spreadsheet users (`[pack] csv_copies = true`): UTF-8 with
    a byte order mark (so Excel reads the accents), a header, comma-delimited, ISO dates, empty for null."""
    (staging / "csv").mkdir()
    for resource in resources:
        name = resource["descriptor"]["name"]
        target = staging / "csv" / f"{name}.csv"
        body = target.with_suffix(".body")
        with one_thread(con):
            con.execute(f"COPY (SELECT * FROM read_parquet({_lit(str(staging / resource['descriptor']['path']))})) "
                        f"TO {_lit(str(body))} (FORMAT csv, HEADER true, DELIMITER ',')")
        with target.open("wb") as out, body.open("rb") as data:
            out.write("\ufeff".encode())
            shutil.copyfileobj(data, out)
        body.unlink()
        resource["descriptor"]["csv_copy"] = f"csv/{name}.csv"


def _write_one(con: duckdb.DuckDBPyConnection, settings: Settings, table: PackTable,
               columns: dict[str, ColumnProfile], target: Path, scratch: Path,
               text: frozenset[str] = frozenset()) -> list[PackField]:
    """One source table as a Parquet file (through a UTF-8 copy when the source is not UTF-8)."""
    source = settings.paths.under_root(table.path)
    declared = _declared(source)
    catalog = settings.catalogs.get(table.dataset.catalog_id)
    with utf8_copy(source, table.validation.encoding, folder=scratch) as readable:
        return write_parquet(con, readable, table, columns, target, declared, text,
                             state=catalog.state if catalog else None)


def _nulls_and_examples(con: duckdb.DuckDBPyConnection, parquet: Path, fields: list[PackField], rows: int) -> None:
    """Which columns have nulls (counted when the table was written; a stack's and a keying step's columns
    here, in one scan), and up to three example values, in file order, for the columns whose profile has no
    top values to show."""
    relation = f"read_parquet({_lit(str(parquet))})"
    unknown = [f for f in fields if f.has_nulls is None]
    if unknown:
        counts = con.execute(f"SELECT {', '.join(f'count({_q(f.name)})' for f in unknown)} FROM {relation}").fetchone()
        for f, present in zip(unknown, counts):
            f.has_nulls = present < rows
    numbered = f"read_parquet({_lit(str(parquet))}, file_row_number = true)"
    for f in fields:
        if f.profile is None or not f.profile.top_values:
            # the first three values in file order are most often in the first rows: looked for there first
            for prefix in (f"WHERE file_row_number < {EXAMPLE_ROWS}", ""):
                f.examples = [v for (v,) in con.execute(
                    f"SELECT v FROM (SELECT CAST({_q(f.name)} AS VARCHAR) AS v, file_row_number AS n FROM {numbered} "
                    f"{prefix}) WHERE v IS NOT NULL GROUP BY v ORDER BY min(n) LIMIT 3").fetchall()]
                if len(f.examples) == 3 or rows <= EXAMPLE_ROWS:
                    break


EXAMPLE_ROWS = 10_000
"""The rows a table's first example values are looked for in before the whole table is."""


def _rows(con: duckdb.DuckDBPyConnection, parquet: Path) -> int:
    ((count,),) = con.execute(f"SELECT count(*) FROM read_parquet({_lit(str(parquet))})").fetchall()
    return int(count)


def _provenance(table: PackTable, name: str, target: Path | None, rows: int) -> dict[str, Any]:
    """A source table's entry in provenance.json (a stacked table lists one per file under `stacked_from`)."""
    v = table.validation
    entry = {"resource": name, "catalog": v.catalog_id, "dataset": table.dataset.name, "dataset_id": v.dataset_id,
             "resource_id": v.resource_id, "part": v.part or None, "source_url": table.url, "source_sha256": v.sha256,
             "source_changed_at": _iso(table.changed_at)}
    if target is not None:
        entry.update({"parquet": f"data/{name}.parquet", "parquet_sha256": _sha256(target)})
    elsewhere = {"also_published": list(table.also_published)} if table.also_published else {}
    return {**entry, "rows": rows, **left_out_of(v.rows, rows), **elsewhere}


@dataclass
class Unit:
    """One table of a pack: a source table, or sibling files of one dataset stacked (harvester/packstack.py)."""

    tables: list[PackTable]
    profiles: list[dict[str, ColumnProfile]]
    alignments: list[Alignment]
    """How each file's columns line up with the first's (the first: with itself)."""
    apart: list[Note] = field(default_factory=list)
    """Why a file stays apart from a sibling of its dataset (`not_stacked`)."""

    @property
    def label(self) -> str:
        """The stack's name: the files' names without their periods."""
        names = {re.sub(r"[-_ ]+$|^[-_ ]+", "", _STRIP_PERIOD.sub(" ", _label(t))).strip() for t in self.tables}
        return names.pop() if len(names) == 1 and "" not in names else "serie"


_STRIP_PERIOD = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?:\s*[-_./ ]\s*(?:(?:19|20)[0-9]{2}|[01][0-9]))?(?![0-9])|"
                           r"\.(csv|tsv|txt|xlsx?|json|zip)$", re.IGNORECASE)


def _label(table: PackTable) -> str:
    """How a team recognises a source file: its resource name (and sheet or member)."""
    name = table.resource_name or table.validation.resource_id
    return f"{name} ({table.validation.part})" if table.validation.part else name


def _kind(table: PackTable) -> str:
    """A whole file, or a sheet, member, layer... of one: only tables of one kind are stacked."""
    return table.validation.part.split(":", 1)[0] if table.validation.part else ""


def _period(table: PackTable) -> Period | None:
    return period_of(table.resource_name, Path(table.path).name, table.url)


def _names(columns: dict[str, ColumnProfile]) -> list[str]:
    return [c.name for c in sorted(columns.values(), key=lambda c: c.position)]


def plan_units(tables: list[PackTable], profiles: list[dict[str, ColumnProfile]]) -> list[Unit]:
    """The pack's tables: each source table, except sibling files of one dataset whose columns line up, which
    are stacked into one (the first file's columns, in order, are the stack's)."""
    units: list[Unit] = []
    for table, columns in zip(tables, profiles):
        names = _names(columns)
        apart: list[Note] = []
        if named_dictionary(table.resource_name, table.validation.part):
            units.append(Unit([table], [columns], [align(names, names)]))  # a dictionary is never a year of data
            continue
        for unit in units:
            base = unit.tables[0]
            if base.dataset.ref != table.dataset.ref or not names or _kind(base) != _kind(table) or \
                    any(t.validation.resource_id == table.validation.resource_id for t in unit.tables):
                continue  # another dataset, a sheet or member of a file already in, or another format
            base_names = _names(unit.profiles[0])
            alignment = align(base_names, names)
            share = needed(_period(base), _period(table))
            if alignment.share(base_names, names) >= share and len(alignment.matches) >= 2:
                unit.tables.append(table)
                unit.profiles.append(columns)
                unit.alignments.append(alignment)
                break
            why, why_en = (too_different(base_names, names, alignment, share, lang) for lang in LANGUAGES)
            apart.append(note("change", "not_stacked", None, other=_label(base), why=why, why_en=why_en))
        else:
            units.append(Unit([table], [columns], [align(names, names)], apart))
    return units


def origin_title(column: str) -> str:
    """An origin column's `title` in datapackage.json: what it is in Spanish, ` / `, in English (BOTH)."""
    es, en = (translations(lang).gettext(ORIGIN_NAMES[column]) for lang in LANGUAGES)
    return f"{es}{BOTH}{en}"


def _write_stack(con: duckdb.DuckDBPyConnection, settings: Settings, unit: Unit, name: str, target: Path,
                 spill: Path, staging: Path) -> tuple[list[PackField], list[Note], dict[str, Any]]:
    """Sibling files as one Parquet table: each file converted as on its own, its columns renamed to the
    first file's, the ones it lacks null, and the origin columns; a column the files convert to different
    types is kept as text in all of them. Its row count is the sum of the files' (checked)."""
    parts = [spill / f"{name}.part{i}.parquet" for i in range(len(unit.tables))]
    written = [_write_one(con, settings, t, c, p, staging) for t, c, p in zip(unit.tables, unit.profiles, parts)]
    # the stack's columns: the first file's, then what later files add
    taken: set[str] = set()
    canonical: list[PackField] = []
    by_original: list[dict[str, str]] = []  # per file: its original name -> the stack's column
    for i, (fields, alignment) in enumerate(zip(written, unit.alignments)):
        mapping = {m.other: m.base for m in alignment.matches}
        own: dict[str, str] = {}
        for f in fields:
            if i and f.original in mapping:
                own[f.original] = by_original[0][mapping[f.original]]
            elif i and f.companion and f.original in by_original[0]:  # the same INEGI companion
                own[f.original] = by_original[0][f.original]
            else:
                canonical.append(replace(f, name=_unique(f.name, taken)))
                own[f.original] = canonical[-1].name
        by_original.append(own)
    types: dict[str, set[str]] = {}
    for fields, own in zip(written, by_original):
        for f in fields:
            types.setdefault(own[f.original], set()).add(f.type)
    widened = {column for column, kinds in types.items() if len(kinds) > 1}
    for i, (fields, own) in enumerate(zip(written, by_original)):
        text = frozenset(f.original for f in fields if own[f.original] in widened and f.type != "string")
        if text:
            written[i] = _write_one(con, settings, unit.tables[i], unit.profiles[i], parts[i], staging, text)
    first_of = {}
    for fields, own in zip(written, by_original):
        for f in fields:
            first_of.setdefault(own[f.original], f)
    canonical = [replace(first_of[c.name], name=c.name, placeholders={}) for c in canonical]
    for fields, own in zip(written, by_original):
        for f in fields:
            target_field = next(c for c in canonical if c.name == own[f.original])
            for spelling, count in f.placeholders.items():
                target_field.placeholders[spelling] = target_field.placeholders.get(spelling, 0) + count
    kinds: dict[str, str] = {}  # the stack's column -> its DuckDB type, for the files that lack it
    for part, fields, own in zip(parts, written, by_original):
        stacked = {f.name: own[f.original] for f in fields}
        for column, kind in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                                        f"read_parquet({_lit(str(part))}))").fetchall():
            kinds.setdefault(stacked[column], kind)
    selects, counts, periods = [], [], []
    for i, (table, part, fields, own) in enumerate(zip(unit.tables, parts, written, by_original)):
        period = _period(table)
        periods.append(period)
        present = {own[f.original]: f.name for f in fields}
        columns = [f"{_q(present[c.name])} AS {_q(c.name)}" if c.name in present
                   else f"CAST(NULL AS {kinds[c.name]}) AS {_q(c.name)}" for c in canonical]
        origin = [_lit(_label(table)), _lit(period.text) if period else "NULL::VARCHAR",
                  str(period.year) if period else "NULL::INTEGER", str(period.year_to) if period else "NULL::INTEGER",
                  str(period.month) if period and period.month else "NULL::INTEGER"]
        columns += [f"{value} AS {_q(column)}" for value, column in zip(origin, ORIGIN_COLUMNS)]
        selects.append(f"SELECT {', '.join(columns)} FROM read_parquet({_lit(str(part))})")
        counts.append(_rows(con, part))
    with one_thread(con):
        con.execute(f"COPY ({' UNION ALL '.join(selects)}) TO {_lit(str(target))} (FORMAT parquet, COMPRESSION zstd)")
    rows = _rows(con, target)
    if rows != sum(counts):  # no value lost: every row of every file is in the stack
        raise HarvesterError(N_("%(table)s: the stacked table has %(rows)s rows, its files %(files)s"), table=name,
                             rows=rows, files=sum(counts))
    origin_fields = [PackField(name=c, original=origin_title(c), type="integer" if c.startswith(("origen_anio",
                     "origen_mes")) else "string", profile=None) for c in ORIGIN_COLUMNS]
    for f in canonical + origin_fields:
        f.has_nulls = None  # counted on the stack itself
    labels = [_label(t) for t in unit.tables]
    notes = [note("change", "stacked", None, len(unit.tables), files=", ".join(f"«{x}»" for x in labels))]
    for i, (alignment, own) in enumerate(zip(unit.alignments, by_original)):
        for m in alignment.matches if i else ():
            if m.how != "same":
                why, why_en = (why_matched(m.how, lang) for lang in LANGUAGES)
                notes.append(replace(note("change", "column_mapped", own[m.other], file=labels[i], original=m.other,
                                          why=why, why_en=why_en), file=labels[i]))
        for c in canonical:
            if c.name not in own.values():
                notes.append(replace(note("change", "column_absent", c.name, file=labels[i]), file=labels[i]))
    notes += [note("change", "type_widened", c) for c in sorted(widened)]
    for i, (table, fields) in enumerate(zip(unit.tables, written)):
        notes += [replace(n, file=labels[i]) for n in table_notes(table, fields, counts[i]) + (unit.apart if i == 0 else [])]
    files = []
    for i, (table, period) in enumerate(zip(unit.tables, periods)):
        mapping = {f.original: by_original[i][f.original] for f in written[i]}
        files.append({**_provenance(table, name, None, counts[i]), "file": labels[i],
                      "period": period.text if period else None, "columns": mapping})
        del files[-1]["resource"]
    entry = {"resource": name, "catalog": unit.tables[0].validation.catalog_id, "dataset": unit.tables[0].dataset.name,
             "dataset_id": unit.tables[0].validation.dataset_id, "resource_id": None, "part": None,
             "parquet": f"data/{name}.parquet", "parquet_sha256": _sha256(target), "rows": rows,
             "stacked_from": files}
    for part in parts:
        part.unlink()
    return canonical + origin_fields, notes, entry


FORM_CHANGES = {"decimal_comma": "decimal_comma", "thousands": "thousands", "dmy": "day_first", "mdy": "month_first"}


def table_notes(table: PackTable, fields: list[PackField], rows: int) -> list[Note]:
    """What a team should know about one table: what the pack changed, the validation errors that remain in
    the source, and the profiler's alerts, each one explained sentence (harvester/packnotes.py)."""
    notes: list[Note] = []
    for f in fields:
        if f.placeholders:
            spelled = ", ".join(f"`{p}` ({n:,})" for p, n in f.placeholders.items())
            notes.append(note("change", "placeholders_null", f.name, sum(f.placeholders.values()), spelled=spelled))
        if f.form in FORM_CHANGES:
            notes.append(note("change", FORM_CHANGES[f.form], f.name))
        if repair_mojibake(f.original) != f.original.replace("ï»¿", "").replace("\ufeff", ""):
            notes.append(note("change", "name_repaired", f.name, original=f.original))
    renamed = [f for f in fields if f.name != f.original.lower()]
    if renamed:
        notes.append(note("change", "names_normalized", None, len(renamed),
                          renames=", ".join(f"«{f.original}» → `{f.name}`" for f in renamed)))
    left_out = left_out_of(table.validation.rows, rows)
    if left_out:
        notes.append(note("change", "rows_left_out", None, left_out["rows_left_out"]))
    notes += validation_notes(table)
    for f in fields:
        for alert in (f.profile.alerts if f.profile else ()):
            notes.append(note("alert", alert, f.name, detail=alert_detail(alert, f.profile, f.placeholders), original=f.original))
    return notes


def validation_notes(table: PackTable) -> list[Note]:
    """The validation errors that remain in a table's source, one note per error type."""
    v = table.validation
    notes = []
    for code, count in sorted(v.errors_by_type.items()):
        seen = [e for e in v.first_errors if e.type == code]
        where, where_en = rows_where([e.row for e in seen if e.row], [e.field or "" for e in seen])
        notes.append(note("validation", code, None, count, where=where, where_en=where_en))
    return notes


def _notes_json(notes: list[Note]) -> dict[str, Any]:
    """A datapackage resource's `changes`, `validation_errors` and `alerts`."""
    return {key: [n.as_dict() for n in notes if n.kind == kind]
            for key, kind in (("changes", "change"), ("validation_errors", "validation"), ("alerts", "alert"))}


def _declared(source: Path) -> frozenset[str]:
    """The columns the table's Table Schema beside it declares text; a broken one stops the build."""
    try:
        return declared_strings(source)
    except ValueError as exc:
        raise HarvesterError(str(exc)) from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n",
                    encoding="utf-8")


def _zip(folder: Path, target: Path) -> None:
    """Every file of the pack, sorted, with fixed times: the same bytes for the same files."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p != target):
            info = zipfile.ZipInfo(f"{target.stem}/{path.relative_to(folder).as_posix()}", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if path.suffix in STORED else zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _resource(unit: Unit, name: str, fields: list[PackField], rows: int, entry: dict[str, Any]) -> dict[str, Any]:
    table = unit.tables[0]
    licence = table.licence
    publisher = table.dataset.organization
    what = unit.label if len(unit.tables) > 1 else _label(table)
    descriptor = {
        "name": name, "path": f"data/{name}.parquet", "format": "parquet", "mediatype": "application/vnd.apache.parquet",
        "title": f"{table.dataset.title}: {what}",
        "sources": [{"title": publisher or table.validation.catalog_id, "path": t.url} for t in unit.tables],
        "schema": {"fields": [field_descriptor(f) for f in fields]}}
    if licence:
        descriptor["licenses"] = [{"name": str(licence)}]
    if len(unit.tables) > 1:
        descriptor["stacked_from"] = [{k: f[k] for k in ("file", "period", "rows", "columns")} for f in entry["stacked_from"]]
    return {"descriptor": descriptor, "table": table, "unit": unit, "entry": entry, "fields": fields, "rows": rows,
            "publisher": publisher, "licence": licence}


def _allies(tables: list[PackTable], accepted: list[Candidate]) -> list[dict[str, Any]]:
    """The publishing organizations, with their contact points and their datasets in the pack."""
    allies: dict[str, dict[str, Any]] = {}
    for t in tables:
        d = t.dataset
        key = d.organization_name or d.organization_title or f"({d.catalog_id}, no organization)"
        ally = allies.setdefault(key, {"organization": d.organization,
                                       "id": d.organization_name, "catalogs": [], "contacts": [], "datasets": []})
        for contact in ((d.maintainer, d.maintainer_email), (d.author, d.author_email)):
            entry = {"name": contact[0], "email": contact[1]}
            if (contact[0] or contact[1]) and entry not in ally["contacts"]:
                ally["contacts"].append(entry)
        if d.ref not in ally["datasets"]:
            ally["datasets"].append(d.ref)
        if d.catalog_id not in ally["catalogs"]:
            ally["catalogs"].append(d.catalog_id)
    return sorted(allies.values(), key=lambda a: (a["organization"] or "", a["id"] or ""))


def build_packs(settings: Settings, names: list[str] | None = None) -> list[PackResult]:
    """Build the named theme packs, or every profile's; a theme with nothing to pack is an error."""
    paths = [theme_path(settings.profiles, n) for n in names] if names else sorted(settings.profiles.glob("*.toml"))
    if not paths:
        raise HarvesterError(N_("%(folder)s: no theme profiles"), folder=settings.profiles)
    return [build_pack(settings, load_theme(p)) for p in paths]
