"""`harvester pack build`: a theme's accepted datasets as a validated, documented Parquet pack.

Into `datasets/packs/<name>/<version>/`:
- `data/*.parquet` (zstd), one per table: snake_case column names (the originals in the metadata), the
  types the profile found, placeholder missing values as nulls, text in UTF-8;
- `datapackage.json`, a Frictionless Data Package of those files;
- `README.md`: what the pack is for, a data dictionary per table, sources, publishers, licences, and how
  to load a table in one line with pandas, DuckDB and R arrow;
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from harvester.candidates import Candidate, find_candidates
from harvester.colnames import repair_mojibake, snake, unique as _unique
from harvester.packnotes import Note, note, rows_where
from harvester.config import Settings
from harvester.model import ColumnProfile, PackTable, TableExpectations
from harvester.errors import HarvesterError
from harvester.expectations import run_expectations
from harvester.csvscan import (PLACEHOLDER_LIST, Reading, decide_readings, declared_strings, header_names,
                               kept_sql, read_csv_sql, reading_counts, typed_sql, unconverted, utf8_copy)
from harvester.text import normalize
from harvester.store import Store
from harvester.themes import Theme, load_theme, theme_path
from harvester.sql import ident as _q, literal as _lit

FRICTIONLESS_TYPES = {"integer": "integer", "number": "number", "date": "date", "timestamp": "datetime",
                      "time": "time", "geojson": "geojson"}
FORMS = {"thousands": "con separador de miles / thousands separators", "decimal_comma": "coma decimal / decimal comma",
         "dmy": "día primero / day first", "mdy": "mes primero / month first"}
"""How the source wrote a converted column, as the data dictionary says it."""
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass
class PackField:
    """A column of a pack's table: its clean name, the original one, the profile's type and profile."""

    name: str
    original: str
    type: str
    profile: ColumnProfile | None
    form: str = ""
    """How the source writes it (csvscan.Reading.form): `thousands`, `dmy`, `lat_lon`, ..."""
    has_nulls: bool = False
    examples: list[str] = field(default_factory=list)
    placeholders: dict[str, int] = field(default_factory=dict)
    """The placeholder spellings in the source column (now nulls), with how many times each."""


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

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `harvester pack build --json`."""
        return {**self.__dict__, "path": str(self.path)}




def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reading(profile: ColumnProfile | None, found: Reading) -> Reading:
    """The reading a column is converted with: the one found again in the source when its type is the
    profile's (the profile decided from the same bytes), else text, so no value can become null."""
    if profile is None or found.type != profile.type:
        return Reading("string")
    return found


def write_table(con: duckdb.DuckDBPyConnection, source: Path, delimiter: str, header_row: int,
                profiles: dict[str, ColumnProfile], target: Path,
                declared: frozenset[str] = frozenset()) -> list[PackField]:
    """One UTF-8 delimited table as zstd Parquet, each column converted to its profile's type with the rule
    the profile read it by (csvscan's reading rules); returns its fields."""
    names = header_names(source, delimiter, header_row)
    # parsed once: the rules' counts, the safety net, the copy and the placeholders all read this table
    con.execute("DROP TABLE IF EXISTS packing")
    con.execute(f"CREATE TEMP TABLE packing AS SELECT * FROM {read_csv_sql(source, delimiter, header_row, names)}")
    try:
        return _write_table(con, "packing", names, profiles, target, declared)
    finally:
        con.execute("DROP TABLE IF EXISTS packing")


def _write_table(con: duckdb.DuckDBPyConnection, relation: str, names: list[str],
                 profiles: dict[str, ColumnProfile], target: Path, declared: frozenset[str]) -> list[PackField]:
    counts = reading_counts(con, relation, names)
    found = decide_readings(counts, [n in declared for n in names])
    found = [Reading("string") if i in unconverted(con, relation, names, found) else r for i, r in enumerate(found)]
    taken: set[str] = set()
    fields = []
    for position, (name, reading) in enumerate(zip(names, found), 1):
        profile = profiles.get(name)
        reading = _reading(profile, reading)
        fields.append(PackField(name=snake(name, taken, position), original=name, type=reading.type,
                                profile=profile, form=reading.form))
    select = ", ".join(f"{typed_sql(kept_sql(_q(f.original)), Reading(f.type, f.form))} AS {_q(f.name)}"
                       for f in fields)
    con.execute(f"COPY (SELECT {select} FROM {relation}) TO {_lit(str(target))} (FORMAT parquet, COMPRESSION zstd)")
    for f, spelled in zip(fields, _placeholders_found(con, relation, names)):
        f.placeholders = spelled
    return fields


def _placeholders_found(con: duckdb.DuckDBPyConnection, relation: str, names: list[str]) -> list[dict[str, int]]:
    """Per column, each placeholder spelling the source holds and how many times (the data dictionary
    names them: they are the only cells a pack turns into nulls)."""
    parts = [f"histogram(trim({_q(n)})) FILTER (WHERE list_contains({PLACEHOLDER_LIST}, trim({_q(n)})))" for n in names]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchone() if names else ()
    return [dict(sorted((h or {}).items(), key=lambda kv: (-kv[1], kv[0]))) for h in row]


def write_parquet(con: duckdb.DuckDBPyConnection, source: Path, table: PackTable,
                  profiles: dict[str, ColumnProfile], target: Path,
                  declared: frozenset[str] = frozenset()) -> list[PackField]:
    """One table as zstd Parquet; returns its fields (name, original name, type, profile)."""
    v = table.validation
    return write_table(con, source, v.delimiter, v.header_row, profiles, target, declared)


def _left_out(source_rows: int | None, written: int) -> dict[str, Any]:
    """What a pack must say when it holds fewer rows than the validated table: how many, and why."""
    missing = (source_rows or 0) - written
    if missing <= 0:
        return {}
    return {"rows_left_out": missing,
            "why_left_out": "rows DuckDB could not read as the header's columns (more cells than the header, or "
                            "broken quoting); the validation report lists them as errors"}


MAX_NAME = 150
"""The longest table name (and Parquet file name, before `.parquet`): far under any file system's 255."""


def _file_name(table: PackTable, taken: set[str]) -> str:
    """`<catalog>__<dataset>__<resource>[__<sheet or member>]`, each piece in snake_case, unique."""
    pieces = [table.validation.catalog_id, table.dataset.name, table.resource_name or table.validation.resource_id]
    if table.validation.part:
        pieces.append(table.validation.part.split(":", 1)[-1])
    name = "__".join(re.sub(r"[^a-z0-9]+", "_", normalize(str(p))).strip("_") or "x" for p in pieces)
    if len(name) > MAX_NAME:  # a portal's 10,000-character name: bounded, and still one name per table
        name = name[:MAX_NAME - 13].rstrip("_") + "__" + hashlib.sha256(name.encode()).hexdigest()[:11]
    return _unique(name, taken)


def build_pack(settings: Settings, theme: Theme) -> PackResult:
    """Build one theme's pack and publish it (see the module doc)."""
    with Store(settings.paths.database, read_only=True) as store:
        found = find_candidates(store, theme)
        accepted = [c for c in found if c.accepted]
        tables = store.pack_tables([(c.catalog, c.remote_id) for c in accepted])
        profiles = [{c.name: c for c in store.table_columns(t.validation.key, t.validation.part)} for t in tables]
    if not tables:
        raise HarvesterError(f"pack {theme.name}: no accepted dataset has a validated table "
                             f"({len(accepted)} of {len(found)} candidates pass the gates)")
    home = settings.paths.packs / theme.name
    home.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(home)
    inputs = _inputs(theme, tables)
    latest = home / "latest"
    if latest.is_dir() and (latest / "INPUTS").is_file() and (latest / "INPUTS").read_text(encoding="utf-8") == inputs:
        return _result(theme, found, accepted, tables, latest.resolve(), new=False)  # nothing changed: no work
    staging = home / f".build-{uuid.uuid4().hex[:12]}"
    try:
        (staging / "data").mkdir(parents=True)
        (staging / "INPUTS").write_text(inputs, encoding="utf-8")
        version = _assemble(settings, theme, accepted, tables, profiles, staging)
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
    return _result(theme, found, accepted, tables, final, new=new)


def _result(theme: Theme, found: list[Candidate], accepted: list[Candidate], tables: list[PackTable],
            folder: Path, new: bool) -> PackResult:
    report = json.loads((folder / "expectations.json").read_text(encoding="utf-8"))
    return PackResult(name=theme.name, version=folder.name, path=folder, tables=len(tables),
                      datasets=len({(t.validation.catalog_id, t.validation.dataset_id) for t in tables}),
                      rejected=len(found) - len(accepted),
                      expectations_failed=sum(not r["success"] for r in report["tables"]), new=new,
                      files=sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))


def _inputs(theme: Theme, tables: list[PackTable]) -> str:
    """What a pack is built from: the profile's bytes, this code's version and every source table. The same
    text means the same pack, so a nightly run with nothing changed upstream builds nothing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code = version("harvester")
    except PackageNotFoundError:
        code = "unknown"
    lines = [f"harvester {code}", f"profile {hashlib.sha256(theme.path.read_bytes()).hexdigest()}"]
    lines += [f"table {v.catalog_id} {v.dataset_id} {v.resource_id} {v.part or '-'} {v.sha256}"
              for v in (t.validation for t in tables)]
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
              profiles: list[dict[str, ColumnProfile]], staging: Path) -> str:
    import pandas as pd  # only where packs are built

    spill = tempfile.TemporaryDirectory(prefix="harvester-pack-")
    con = duckdb.connect()
    con.execute("SET threads = 1")  # one writer, rows in file order: the same bytes every time
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = {_lit(spill.name)}")  # a table bigger than memory spills there
    resources, provenance, results = [], [], []
    taken: set[str] = set()
    try:
        for table, columns in zip(tables, profiles):
            source = settings.paths.under_root(table.path)
            name = _file_name(table, taken)
            target = staging / "data" / f"{name}.parquet"
            declared = _declared(source)
            with utf8_copy(source, table.validation.encoding, folder=staging) as readable:
                fields = write_parquet(con, readable, table, columns, target, declared)
            frame = pd.read_parquet(target)
            frame.attrs["original_names"] = {f.name: f.original for f in fields}
            ref = table.dataset.ref
            results.append(run_expectations(frame, theme.expectations, ref, name))
            for f in fields:
                values = frame[f.name].dropna()
                f.has_nulls = len(values) < len(frame)
                f.examples = [str(v) for v in values.astype(str).unique()[:3]]
            resource = _resource(table, name, fields, len(frame), target)
            resource["notes"] = table_notes(table, fields, len(frame))
            resource["descriptor"].update(_notes_json(resource["notes"]))
            resources.append(resource)
            v = table.validation
            provenance.append({"resource": name, "catalog": v.catalog_id, "dataset": table.dataset.name,
                               "dataset_id": v.dataset_id, "resource_id": v.resource_id,
                               "part": v.part or None, "source_url": table.url,
                               "source_sha256": v.sha256, "source_changed_at": _iso(table.changed_at),
                               "parquet": f"data/{name}.parquet", "parquet_sha256": _sha256(target),
                               "rows": len(frame), **_left_out(v.rows, len(frame))})
    finally:
        con.close()
        spill.cleanup()
    allies = _allies(tables, accepted)
    _write_json(staging / "datapackage.json", {
        "name": theme.name, "title": theme.title, "description": f"{theme.problem_es}\n\n{theme.problem_en}",
        "profile": "data-package", "resources": [r["descriptor"] for r in resources]})
    _write_json(staging / "provenance.json", {"theme": theme.name, "resources": provenance})
    _write_json(staging / "allies.json", {"theme": theme.name, "allies": allies})
    _write_json(staging / "expectations.json", {"theme": theme.name, "tables": [r.as_dict() for r in results]})
    (staging / "README.md").write_text(_readme(theme, resources, allies, results), encoding="utf-8")
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    sums = {str(p.relative_to(staging)): _sha256(p) for p in files}
    content = hashlib.sha256("".join(f"{h}  {n}\n" for n, h in sums.items()).encode()).hexdigest()
    newest = max((t.changed_at for t in tables if t.changed_at), default=None)
    version = f"{newest.date().isoformat() if newest else 'undated'}-{content[:12]}"
    (staging / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in sums.items()), encoding="utf-8")
    _zip(staging, staging / f"{theme.name}-{version}.zip")
    return version


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
    left_out = _left_out(table.validation.rows, rows)
    if left_out:
        notes.append(note("change", "rows_left_out", None, left_out["rows_left_out"]))
    notes += validation_notes(table)
    for f in fields:
        for alert in (f.profile.alerts if f.profile else ()):
            notes.append(note("alert", alert, f.name, detail=_alert_detail(alert, f), original=f.original))
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


def _alert_detail(alert: str, f: PackField) -> str:
    """The part of an alert's sentence that names values: the placeholders, the spellings, the siblings."""
    p = f.profile
    if p is None:
        return ""
    if alert == "placeholder_missing":
        return ", ".join(f"`{k}`" for k in f.placeholders) or f"{p.placeholders or 0:,}"
    if alert == "category_spellings" and p.spellings:
        return ": " + "; ".join(" / ".join(f"«{s}»" for s in group) for group in p.spellings[:3])
    if alert == "constant" and p.top_values:
        return f" («{p.top_values[0][0]}»)"
    if alert == "sibling_columns_differ" and p.sibling_missing_in:
        return " (" + ", ".join(p.sibling_missing_in[:3]) + ")"
    return ""


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
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _resource(table: PackTable, name: str, fields: list[PackField], rows: int,
              target: Path) -> dict[str, Any]:
    licence = table.licence
    publisher = table.dataset.organization
    descriptor = {
        "name": name, "path": f"data/{name}.parquet", "format": "parquet", "mediatype": "application/vnd.apache.parquet",
        "title": f"{table.dataset.title}: {table.resource_name or table.validation.resource_id}"
                 + (f" ({table.validation.part})" if table.validation.part else ""),
        "sources": [{"title": publisher or table.validation.catalog_id, "path": table.url}],
        "schema": {"fields": [_field(f) for f in fields]}}
    if licence:
        descriptor["licenses"] = [{"name": str(licence)}]
    return {"descriptor": descriptor, "table": table, "fields": fields, "rows": rows, "publisher": publisher,
            "licence": licence}


def _geopoint(f: PackField) -> dict[str, Any]:
    """A column of points, kept as the source's text. Frictionless's geopoint is longitude first ('lon, lat',
    or [lon, lat] with format 'array'); the portals' "lat,lon" points stay a string that says so."""
    array = f.form.endswith("_array")
    order = f.form.removesuffix("_array")
    if order == "lon_lat":
        return {"type": "geopoint", "format": "array"} if array else {"type": "geopoint"}
    written = "[lat, lon]" if array else "lat,lon"
    if order == "lat_lon":
        return {"type": "string", "description": f"punto geográfico «{written}»: latitud primero (Frictionless "
                                                 f"geopoint pide longitud primero) / geographic point, latitude first"}
    return {"type": "string", "description": "punto geográfico; no se sabe si latitud o longitud va primero / "
                                             "geographic point, order of latitude and longitude unknown"}


def _field(f: PackField) -> dict[str, Any]:
    kind = FRICTIONLESS_TYPES.get(f.type, "string")
    field = {"name": f.name, "type": kind, "title": f.original}
    if f.type == "geopoint":
        field.update(_geopoint(f))
    if f.type == "geojson" and f.form == "3d":
        # RFC 7946 allows an altitude in a position; the GeoJSON profile Frictionless validates with does not
        field.update({"type": "string", "description": "geometría GeoJSON con altitud en sus posiciones (Frictionless "
                                                       "solo acepta posiciones de 2 números) / GeoJSON geometry with "
                                                       "altitudes"})
    if kind == "integer" and f.has_nulls:
        # Frictionless reads Parquet through pandas, where an integer column with nulls turns to floats and NaN,
        # which its integer type refuses: the column stays int64 in the file and is declared a number here.
        field["type"] = "number"
        field["description"] = "whole numbers (int64 in the Parquet file), some missing"
    return field


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


def _cell(text: Any) -> str:
    """Portal text as inert Markdown: no HTML (a renderer would run `<img onerror>`), no table break, one line."""
    value = str(text if text is not None else "")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).replace("|", "\\|")


def _readme(theme: Theme, resources: list[dict[str, Any]], allies: list[dict[str, Any]],
            results: list[TableExpectations]) -> str:
    first = resources[0]["descriptor"]["path"]
    lines = [f"# {theme.title}", "", theme.problem_es, "", theme.problem_en, "",
             f"{len(resources)} tables from {len({r['table'].dataset.ref for r in resources})}"
             " datasets, chosen by the organizers' theme profile and its quality gates, validated and converted to "
             "Parquet. `datapackage.json` describes them (a Frictionless Data Package), `provenance.json` says where "
             "each came from, `expectations.json` holds the Great Expectations results, `allies.json` the publishers.",
             "", "## Load a table", "", "```python", "import pandas as pd", f'df = pd.read_parquet("{first}")', "```",
             "", "```python", "import duckdb", f"duckdb.sql(\"SELECT * FROM '{first}'\").df()", "```", "", "```r",
             f'df <- arrow::read_parquet("{first}")', "```", "", "## Allies", ""]
    for ally in allies:
        contacts = ", ".join(f"{_cell(c['name'])} ({_cell(c['email'])})" if c["email"] else _cell(c["name"])
                             for c in ally["contacts"])
        lines.append(f"- **{_cell(ally['organization'] or ally['id'])}** ({', '.join(ally['catalogs'])}): "
                     f"{contacts or 'no contact point published'}; {len(ally['datasets'])} datasets")
    checks = {r.table: r for r in results}
    lines += ["", "## Tables", ""]
    for resource in resources:
        d, t = resource["descriptor"], resource["table"]
        check = checks[d["name"]]
        failed = [c.check for c in check.checks if not c.success]
        left_out = _left_out(t.validation.rows, resource["rows"])
        rows = f"{resource['rows']} rows" + (f" ({left_out['rows_left_out']} of the source's {t.validation.rows} left "
                                             f"out: {left_out['why_left_out']})" if left_out else "")
        lines += [f"### {_cell(d['title'])}", "", f"- File: `{d['path']}`, {rows}",
                  f"- Source: `{_cell(t.url).replace('`', '%60')}`", f"- Publisher: {_cell(resource['publisher'] or '-')}",
                  f"- Licence: {_cell(resource['licence'] or 'not given')}",
                  f"- Retrieved: {_iso(t.changed_at) or '-'} (when this content was first fetched)",
                  f"- Expectations: {'all met' if not failed else 'not met: ' + '; '.join(failed)}", ""]
        lines += _notes_markdown(resource["notes"])
        lines += ["#### Diccionario de datos / Data dictionary", "",
                  "| column | original name | type | missing | placeholders (now null) | examples |",
                  "|---|---|---|---:|---|---|"]
        for f in resource["fields"]:
            profile = f.profile
            top = [v for v, _ in (profile.top_values if profile else ())[:3]]
            examples = ", ".join(_cell(v) for v in (top or f.examples))
            missing = profile.missing_share if profile else None
            spelled = ", ".join(f"`{_cell(p).replace('`', '')}` ×{n:,}" for p, n in f.placeholders.items())
            lines.append(f"| `{f.name}` | {_cell(f.original)} | {_dictionary_type(f)} | "
                         f"{'' if missing is None else f'{missing:.0%}'} | {spelled} | {examples} |")
        lines.append("")
    return "\n".join(lines)


NOTE_HEADINGS = {"change": "Qué se cambió / What was changed",
                 "validation": "Errores de validación que quedan en la fuente / Validation errors left in the source",
                 "alert": "Alertas del perfil / Profile alerts"}


def _notes_markdown(notes: list[Note]) -> list[str]:
    """A table's notes in its README section: each kind under its heading, Spanish then English."""
    lines: list[str] = []
    for kind, heading in NOTE_HEADINGS.items():
        chosen = [n for n in notes if n.kind == kind]
        lines += [f"#### {heading}", ""]
        for n in chosen:
            lines += [f"- {_cell(n.es)}", f"  _{_cell(n.en)}_"]
        if not chosen:
            lines.append("- Ninguno / None")
        lines.append("")
    return lines


def _dictionary_type(f: PackField) -> str:
    """The type the data dictionary shows: the datapackage's, with how the source wrote it."""
    kind = _field(f)["type"]
    if f.type == "geopoint":
        return f"geopoint ({f.form.replace('_array', ', array').replace('_', ',')})"
    if f.type == "geojson":
        return "geojson (3D)" if f.form == "3d" else "geojson"
    return f"{kind} ({FORMS[f.form]})" if f.form in FORMS else kind


def build_packs(settings: Settings, names: list[str] | None = None) -> list[PackResult]:
    """Build the named theme packs, or every profile's; a theme with nothing to pack is an error."""
    paths = [theme_path(settings.profiles, n) for n in names] if names else sorted(settings.profiles.glob("*.toml"))
    if not paths:
        raise HarvesterError(f"{settings.profiles}: no theme profiles")
    return [build_pack(settings, load_theme(p)) for p in paths]
