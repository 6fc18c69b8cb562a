"""The profile stage: per-column statistics and alerts for every validated delimited file, in DuckDB.

The file is read once (in parallel) into a DuckDB table of trimmed cells; one aggregate query computes
every column's counts, a column of few distinct values has its reading forms counted over those values
(each weighed by how often it occurs), one query takes the typed columns' ranges, and low-cardinality
text columns get a second look, over their distinct values, for top values and categories spelled
several ways. Memory stays bounded by DuckDB's limit whatever the file size. cp1252 files (and Latin-1
files holding bytes 0x80-0x9F) are transcoded first to a temporary UTF-8 copy (DuckDB reads only UTF-8,
UTF-16 and Latin-1 without 0x80-0x9F).
"""
from __future__ import annotations

import re
import tempfile
import unicodedata
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from harvester.alerts import Alert
from harvester.clock import utcnow
from harvester.config import Settings
from harvester.csvscan import (LATIN_1, PLACEHOLDER_LIST, READING_RULES, Reading, count_where, decide_readings, declared_strings, first_counts,
                               first_pass_sql, header_names, read_csv_sql, reading_counts, typed_columns_sql,
                               utf8_copy)
from harvester.errors import PathEscape
from harvester.model import ColumnProfile, ResourceKey, SiblingFlag, TableToProfile
from harvester.progress import Progress, SilentProgress
from harvester.scale import WORKER_DUCKDB_MEMORY, WORKER_DUCKDB_THREADS, run_tasks
from harvester.paths import DataPaths
from harvester.store import Store
from harvester.sql import ident as _q, literal as _lit

TYPED_SHARE = 0.95
CATEGORY_MAX_DISTINCT = 200
EXACT_DISTINCT_MAX = 10_000
EXACT_QUANTILE_ROWS = 2_000_000
NUMERIC = ("integer", "number")
DATED = ("date", "timestamp")
RANGED = NUMERIC + DATED + ("time",)
"""The types whose min and max are values, not text."""
ACCENTS_LOST = "\ufffd|[A-Za-zÀ-ÿ]\\?[a-zà-ÿ]"
"""An accent replaced upstream: U+FFFD, or '?' inside a word ('R?o', 'Jos?'; not '¿Qué?', 'a?' nor a URL's query)."""
MOJIBAKE = r"Ã[\x80-\xbf¡-ÿ]|Â[\x80-\xbf ]|ï»¿|â€"
MOJIBAKE_NEEDS = ("Ã", "Â", "ï»¿", "â€")
"""What every match of MOJIBAKE starts with."""


@dataclass
class ProfileSummary:
    profiled: int = 0
    unchanged: int = 0
    failed: int = 0
    left: int = 0
    """Files not profiled because the run's deadline passed (the next run profiles them)."""
    alerts: dict[str, int] = field(default_factory=dict)


def scratch_connection(spill: Path, memory_limit: str = "512MB") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for profiling, capped in memory, spilling to `spill` beyond the cap."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    con.execute(f"SET temp_directory = {_lit(str(spill))}")
    return con


def profile_file(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str, header_row: int,
                 declared: frozenset[str] = frozenset(), encoding: str | None = None) -> list[ColumnProfile]:
    """Column profiles of one UTF-8 delimited file (or, with `encoding` 'latin-1', one DuckDB reads as
    ISO-8859-1 itself: a duckdb.Error naming latin-1 when it holds bytes 0x80-0x9F). The columns are the
    header's, given to DuckDB rather than sniffed: its sniffer can fail, or return one column, on a file
    with ragged rows. A column named in `declared` (the table's Table Schema says `string`) is text
    whatever it holds."""
    names = header_names(path, delimiter, header_row, *([encoding] if encoding else []))
    if not names:
        raise ValueError(f"{path.name}: no header at row {header_row}")
    # Read the file once into a table of trimmed cells ('' as NULL); every query below scans the table,
    # in parallel and by column. Past DuckDB's memory limit the table spills to its temp directory.
    cells = ", ".join(f"nullif(trim({_q(n)}), '') AS {_q(n)}" for n in names)
    options = f"encoding={_lit(encoding)}" if encoding else ""
    con.execute("DROP TABLE IF EXISTS profiled")
    try:  # read in parallel, unless a quoted cell holds a line break (DuckDB's parallel reader refuses it)
        con.execute(f"CREATE TEMP TABLE profiled AS SELECT {cells} FROM "
                    + read_csv_sql(path, delimiter, header_row, names, options=f"{options}, parallel=true"
                                   if options else "parallel=true"))
    except duckdb.Error as exc:
        if "parallel=false" not in str(exc):
            raise
        con.execute(f"CREATE TEMP TABLE profiled AS SELECT {cells} FROM "
                    + read_csv_sql(path, delimiter, header_row, names, options=options))
    try:
        return _profile_table_rows(con, names, declared)
    finally:
        con.execute("DROP TABLE IF EXISTS profiled")


def _text_stats(con: duckdb.DuckDBPyConnection, source: str, names: list[str]) -> dict[str, Any]:
    """One scan: rows, and per column the cells present, placeholders, distinct values, the text's min and
    max, and the cells with mojibake or accents lost."""
    parts, kept = ["count(*) AS n"], []
    for i, name in enumerate(names):
        v, p = _q(name), f"pv{i}"
        kept += [v, f"CASE WHEN list_contains({PLACEHOLDER_LIST}, {v}) THEN NULL ELSE {v} END AS {p}"]
        # every count but `placeholder` leaves placeholders out: `-9999` or `NaN` parse as numbers
        parts += [
            f"count({p}) AS present_{i}", f"count({v}) - count({p}) AS placeholder_{i}",
            f"approx_count_distinct({v}) AS distinct_{i}", f"min({p}) AS smin_{i}", f"max({p}) AS smax_{i}",
            *first_pass_sql(p, i)[1:],  # which reading rules could apply (csvscan)
            # each pattern only where the characters it needs are: contains() costs a tenth of a regex
            count_where(f"({' OR '.join(f'contains({v}, {_lit(m)})' for m in MOJIBAKE_NEEDS)}) "
                        f"AND regexp_matches({v}, {_lit(MOJIBAKE)})") + f" AS mojibake_{i}",
            count_where(f"(contains({v}, '?') OR contains({v}, '\ufffd')) AND regexp_matches({v}, {_lit(ACCENTS_LOST)}) "
                        f"AND NOT contains({v}, '://')") + f" AS lost_{i}",
        ]
    stats = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(kept)} FROM {source})").fetchone()
    s = dict(zip((d[0] for d in con.description), stats))
    # the placeholders' spellings, of the columns that have any (a histogram per column of a wide table
    # would hold hundreds of maps at once)
    spelled = [i for i in range(len(names)) if s[f"placeholder_{i}"]]
    for start in range(0, len(spelled), 16):
        chosen = spelled[start:start + 16]
        found = con.execute("SELECT " + ", ".join(
            f"histogram({_q(names[i])}) FILTER (WHERE list_contains({PLACEHOLDER_LIST}, {_q(names[i])}))"
            for i in chosen) + f" FROM {source}").fetchone()
        s.update({f"spelled_{i}": histogram for i, histogram in zip(chosen, found)})
    # HyperLogLog is off by a few even on 16 values: count exactly where that is cheap
    few = [i for i in range(len(names)) if s[f"distinct_{i}"] <= EXACT_DISTINCT_MAX]
    if few:
        exact = con.execute("SELECT " + ", ".join(f"count(DISTINCT {_q(names[i])}) FILTER (WHERE "
                                                  f"NOT list_contains({PLACEHOLDER_LIST}, {_q(names[i])}))"
                                                  for i in few) + f" FROM {source}").fetchone()
        s.update({f"distinct_{i}": n for i, n in zip(few, exact)})
    return s


def _ranges(con: duckdb.DuckDBPyConnection, source: str, names: list[str], readings: list[Reading],
            rows: int) -> dict[str, Any]:
    """One scan of the typed columns, read as decided: min, max, quartiles of the numbers, and the kept
    cells that did not convert (`missed_<i>`, 0 unless the counts and the conversion disagree)."""
    # exact quartiles keep every value in memory (DuckDB cannot spill them): beyond EXACT_QUANTILE_ROWS
    # rows the t-digest estimate is used
    quantile = "quantile_cont" if rows <= EXACT_QUANTILE_ROWS else "approx_quantile"
    parts = []
    for i, reading in enumerate(readings):
        if reading.type not in RANGED:
            continue
        parts += [f"min(t{i}) AS min_{i}", f"max(t{i}) AS max_{i}", f"count(k{i}) - count(t{i}) AS missed_{i}"]
        if reading.type in NUMERIC:
            parts.append(f"{quantile}(t{i}::DOUBLE, [0.25, 0.5, 0.75]) AS q_{i}")
    if not parts:
        return {}
    stats = con.execute(f"SELECT {', '.join(parts)} FROM {typed_columns_sql(source, names, readings)}").fetchone()
    return dict(zip((d[0] for d in con.description), stats))


def _profile_table_rows(con: duckdb.DuckDBPyConnection, names: list[str],
                        declared: frozenset[str] = frozenset()) -> list[ColumnProfile]:
    source = "profiled"
    s = _text_stats(con, source, names)
    counts = reading_counts(con, source, names, first_counts(s, len(names)),
                            [s[f"distinct_{i}"] for i in range(len(names))])
    readings = decide_readings(counts, [n in declared for n in names])
    rows = int(s["n"])
    r = _ranges(con, source, names, readings, rows)
    # the safety net (csvscan.unconverted), in the same scan: a kept cell that did not convert keeps the
    # column text
    readings = [Reading("string") if r.get(f"missed_{i}") else reading for i, reading in enumerate(readings)]
    profiles = []
    for i, name in enumerate(names):
        present, kind, c = s[f"present_{i}"], readings[i].type, counts[i]
        numeric, dated = kind in NUMERIC, kind in DATED
        alerts = _alerts(s, i, name, rows, readings[i], c)
        top_values: tuple[tuple[Any, int], ...] = ()
        spellings: tuple[tuple[str, ...], ...] = ()
        if kind == "string" and 0 < s[f"distinct_{i}"] <= CATEGORY_MAX_DISTINCT:
            top_values, spellings = _categories(con, source, name)
            if spellings:
                alerts.append(Alert.CATEGORY_SPELLINGS)
        if kind == "string" and present > 50 and s[f"distinct_{i}"] >= present * 0.95:
            alerts.append(Alert.HIGH_CARDINALITY)
        low, high = (r.get(f"min_{i}"), r.get(f"max_{i}")) if kind in RANGED else (s[f"smin_{i}"], s[f"smax_{i}"])
        profiles.append(ColumnProfile(
            position=i, name=name, type=kind, rows=rows,
            missing_share=round(1 - present / rows, 4) if rows else 1.0,
            placeholders=s[f"placeholder_{i}"], distinct_count=s[f"distinct_{i}"],
            min=low if numeric or low is None or kind not in RANGED else str(low),
            max=high if numeric or high is None or kind not in RANGED else str(high),
            quartiles=tuple(r[f"q_{i}"]) if numeric and r.get(f"q_{i}") else None,
            date_min=str(low) if dated and low is not None else None,
            date_max=str(high) if dated and high is not None else None,
            top_values=top_values, spellings=spellings, alerts=tuple(alerts), form=readings[i].form,
            present=present, rules=READING_RULES,
            placeholder_spellings=tuple(sorted((s.get(f"spelled_{i}") or {}).items(), key=lambda kv: (-kv[1], kv[0])))))
    return profiles


def _alerts(s: dict[str, Any], i: int, name: str, rows: int, reading: Reading, c: dict[str, int]) -> list[Alert]:
    """A column's alerts from its counts (the category ones come later)."""
    present = s[f"present_{i}"]
    alerts: list[Alert] = []
    if present == 0:
        alerts.append(Alert.ALL_MISSING)
    elif s[f"distinct_{i}"] == 1 and rows > 1:
        alerts.append(Alert.CONSTANT)
    if s[f"placeholder_{i}"]:
        alerts.append(Alert.PLACEHOLDER_MISSING)
    commas = c["donly"] + (c["either"] if reading.form != "thousands" else 0)
    if reading.form == "decimal_comma" or (c["donly"] and commas >= present * TYPED_SHARE):
        alerts.append(Alert.DECIMAL_COMMA)
    if sum(bool(n) for n in (c["iso"], c["dmy"] or c["mdy"], c["es"])) > 1:
        alerts.append(Alert.MIXED_DATE_FORMATS)
    if s[f"mojibake_{i}"]:
        alerts.append(Alert.MOJIBAKE)
    if s[f"lost_{i}"]:
        alerts.append(Alert.ACCENTS_LOST)
    if re.search(MOJIBAKE, name):  # `ï»¿Conjunto de datos`: a BOM or accents garbled in the header itself
        alerts.append(Alert.MOJIBAKE_NAME)
    return alerts


def _categories(con: duckdb.DuckDBPyConnection, source: str,
                name: str) -> tuple[tuple[tuple[Any, int], ...], tuple[tuple[str, ...], ...]]:
    """Top values, and the categories written several ways (accents, case, punctuation)."""
    c = _q(name)
    # the column's few distinct values with their counts, once; the spelling key is computed per value,
    # not per row
    con.execute(f"CREATE OR REPLACE TEMP TABLE profiled_values AS SELECT {c} AS v, count(*) AS n FROM {source} "
                f"WHERE {c} IS NOT NULL GROUP BY v")
    try:
        top = con.execute("SELECT v, n FROM profiled_values ORDER BY n DESC, v LIMIT 5").fetchall()
        variants = con.execute("""
            SELECT list(v ORDER BY v) FROM (
                SELECT v, regexp_replace(strip_accents(lower(v)), '[^a-z0-9]+', '', 'g') AS k FROM profiled_values)
            GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT 20""").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS profiled_values")
    return tuple((v, n) for v, n in top), tuple(tuple(r[0]) for r in variants)


def profile(settings: Settings, *, catalogs: list[str] | None = None,
            progress: Progress | None = None, deadline: float | None = None) -> ProfileSummary:
    """Profile every validated table whose file changed since it was last profiled, then compare the
    columns of sibling tables in each dataset. No file is started after `deadline` (time.monotonic())."""
    progress = progress or SilentProgress()
    if catalogs:
        settings.select(catalogs)
    summary = ProfileSummary()
    with Store(settings.paths.database) as store:
        resources: dict[ResourceKey, list[TableToProfile]] = {}
        for table in store.tables_to_profile(catalogs):
            resources.setdefault(table.key, []).append(table)
        progress.start("profile", len(resources))
        changed = [parts for parts in resources.values() if parts[0].profiled_sha256 != parts[0].sha256]
        summary.unchanged = done = len(resources) - len(changed)
        with tempfile.TemporaryDirectory(prefix="harvester-profile-") as spill:
            if settings.scale.dask is None:  # here: one scratch DuckDB for every file
                scratch = scratch_connection(Path(spill))
                task = partial(_profile_resource, settings.paths, con=scratch)
            else:  # on Dask workers (harvester/scale.py): a capped scratch DuckDB per task
                scratch, task = None, partial(_profile_resource_on_worker, settings.paths)
            for parts, (columns, failed) in run_tasks(settings.scale, task, changed, deadline=deadline):
                done += 1
                progress.update("profile", done, len(resources))
                store.record_profile(parts[0].key, parts[0].sha256, columns, utcnow())
                summary.profiled += 1
                summary.failed += failed
            if scratch is not None:
                scratch.close()
        summary.left = len(resources) - done
        flag_sibling_differences(store, catalogs)
        summary.alerts = store.alert_counts(catalogs)
        progress.finish("profile", f"{summary.profiled} profiled, {summary.unchanged} unchanged, "
                                   f"{summary.failed} unreadable"
                                   + (f", {summary.left} left for the next run (deadline)" if summary.left else ""))
    return summary


def _profile_resource(paths: DataPaths, parts: list[TableToProfile], *,
                      con: duckdb.DuckDBPyConnection) -> tuple[list[ColumnProfile], int]:
    """The column profiles of one fetched file's tables, and how many of them could not be read."""
    columns: list[ColumnProfile] = []
    failed = 0
    for table in parts:
        found, unreadable = _profile_table(con, paths, table)
        columns += found
        failed += unreadable
    return columns, failed


def _profile_resource_on_worker(paths: DataPaths, parts: list[TableToProfile]) -> tuple[list[ColumnProfile], int]:
    """_profile_resource in a Dask task: its own scratch DuckDB, capped in threads and memory."""
    with tempfile.TemporaryDirectory(prefix="harvester-profile-") as spill:
        con = scratch_connection(Path(spill), WORKER_DUCKDB_MEMORY)
        try:
            con.execute(f"SET threads = {WORKER_DUCKDB_THREADS}")
            return _profile_resource(paths, parts, con=con)
        finally:
            con.close()


def _profile_table(con: duckdb.DuckDBPyConnection, paths: DataPaths,
                   table: TableToProfile) -> tuple[list[ColumnProfile], int]:
    try:
        columns = _profile_any_encoding(con, paths.under_root(table.path), table.encoding, table.delimiter,
                                        table.header_row)
        unreadable = 0
    except (duckdb.Error, ValueError, OSError, UnicodeDecodeError, PathEscape) as exc:
        unreadable = 1
        columns = [ColumnProfile(position=-1, name="", type="error", rows=0, alerts=(Alert.UNREADABLE,),
                                 error=str(exc).splitlines()[0][:300])]
    return [replace(c, part=table.part or "") for c in columns], unreadable


def _column_key(name: str) -> str:
    """A column name with case, accents, punctuation and a baked-in BOM set aside."""
    text = unicodedata.normalize("NFKD", name.replace("\ufeff", "").replace("ï»¿", "")).lower()
    return "".join(ch for ch in text if ch.isalnum())


def flag_sibling_differences(store: Store, catalogs: list[str] | None = None) -> None:
    """Alert `sibling_columns_differ` on the columns of a table that a sibling table of the same dataset
    lacks. Siblings are tables (resources, sheets, members) sharing at least half their columns, so a
    data file is compared with its other years, not with its data dictionary. Recomputed for every
    dataset on each run: one changed file changes its siblings' alerts."""
    datasets: dict[tuple[str, str], dict[tuple[str, str], dict[str, str]]] = {}
    for column in store.profiled_columns(catalogs):
        table = datasets.setdefault((column.catalog_id, column.dataset_id), {}).setdefault(
            (column.resource_id, column.part), {})
        table[_column_key(column.name)] = column.name
    flagged: list[SiblingFlag] = []
    for (catalog_id, dataset_id), tables in datasets.items():
        for (resource_id, part), columns in tables.items():
            missing_in: dict[str, list[str]] = {}
            for (other_id, other_part), other in tables.items():
                shared = len(columns.keys() & other.keys())
                if (other_id, other_part) == (resource_id, part) or shared * 2 < max(len(columns), len(other)):
                    continue
                for key in columns.keys() - other.keys():
                    missing_in.setdefault(columns[key], []).append(other_id + (f" ({other_part})" if other_part else ""))
            flagged += [SiblingFlag(catalog_id, dataset_id, resource_id, part, name, tuple(where))
                        for name, where in missing_in.items()]
    store.flag_sibling_columns(catalogs, flagged)


def _profile_any_encoding(con: duckdb.DuckDBPyConnection, path: Path, encoding: str, delimiter: str,
                          header_row: int) -> list[ColumnProfile]:
    declared = declared_strings(path)
    if encoding == LATIN_1:  # DuckDB reads it, unless it holds bytes 0x80-0x9F: then from a UTF-8 copy
        try:
            return profile_file(con, path, delimiter, header_row, declared, encoding=LATIN_1)
        except duckdb.Error as exc:
            if "latin-1" not in str(exc):
                raise
    with utf8_copy(path, encoding) as readable:
        return profile_file(con, readable, delimiter, header_row, declared)
