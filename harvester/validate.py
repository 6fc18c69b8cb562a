"""The validate stage: every fetched delimited file checked the way `frictionless validate` checks it.

Encoding and dialect are decided here first (over the whole file and after any preamble rows) and
handed to Frictionless explicitly: left to itself it guesses the encoding from a sample and calls a
cp1252 file valid while reading every accent as garbage. Frictionless then infers the schema and checks
the header; the per-row and per-cell checks run as one DuckDB scan (tablecheck.py), about 20 times
faster than Frictionless's row loop and with the same error types at the same rows. The report lands in
`validations` and as JSON beside the file. A file whose sha256 was already validated is not validated
again.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import duckdb

from harvester.clock import utcnow
from harvester.config import Settings
from harvester.dialect import DialectError, detect_dialect
from harvester.csvscan import LATIN_1, utf8_copy
from harvester.encoding import (BOM_UTF8_REASON, SAMPLE, WHOLE_UTF8_REASON, Encoding, LineCounter, count_lines,
                                detect_encoding, utf8_lines, utf8_start)
from harvester.errors import PathEscape
from harvester.model import FileToValidate, TableValidation, ValidationError
from harvester.progress import Progress, SilentProgress
from harvester.scale import run_tasks
from harvester.store import Store
from harvester.tablecheck import TableCheck, check_table
from harvester.tables import CONTAINERS, DELIMITED, TEXT, TableError, extract_tables

MAX_COLUMNS = 2000
"""The widest table read (real tables run to a few hundred columns; the widest real file here has 51)."""
FIRST_ERRORS = 50
LISTED_ERRORS = 1000
LIMIT_ERRORS = 100_000
ENGINES = ("auto", "duckdb", "frictionless")


@dataclass
class ValidationSummary:
    validated: int = 0
    valid: int = 0
    invalid: int = 0
    unchanged: int = 0
    left: int = 0
    """Files not validated because the run's deadline passed (the next run validates them)."""
    by_error_type: dict[str, int] = field(default_factory=dict)


def _error(e: Any) -> ValidationError:
    """A frictionless error as our record."""
    return ValidationError(e.type, e.message, row=getattr(e, "row_number", None), field=getattr(e, "field_name", None),
                           field_number=getattr(e, "field_number", None))


class _NotAsGuessed(Exception):
    """The whole file turned out not to be in the encoding its start suggested: validate it again."""


class _Guess:
    """The encoding a file's start suggests (UTF-8, with or without a BOM), while a thread counts its lines
    during the scan.

    DuckDB checks the encoding of every line its scan reads, and reports those that fail: once the scan is
    done, the guess is confirmed without another read of the file when DuckDB found no such line, kept
    every line it rejected (whose bytes it did not check: they are checked here), and the lines it skipped
    (the header and any before it) lie in the start already checked. Otherwise the whole file is read by
    detect_encoding, as it is when no scan was used."""

    def __init__(self, path: Path, name: str, pool: ThreadPoolExecutor, counter: LineCounter) -> None:
        self.path, self.name, self._pool, self._counter = path, name, pool, counter
        self._counted: Future[Any] | None = None
        self.exact: Encoding | None = None
        """The encoding detect_encoding found, once it ran."""

    def count(self) -> Future[Any]:
        """The thread counting the lines, started on the first call: just before the scan, which leaves the
        GIL to it, rather than beside the imports and frictionless's schema inference, which do not."""
        if self._counted is None:
            self._counted = self._pool.submit(count_lines, self.path, self._counter)
        return self._counted

    def confirm(self, scan: TableCheck | None = None, header_row: int = 0) -> Encoding:
        """The encoding, or _NotAsGuessed (before any result of the guess is used)."""
        self.count().result()
        if self.name == "utf-8-sig":
            return Encoding("utf-8-sig", BOM_UTF8_REASON)
        if scan is not None and self._scanned(scan, header_row):
            return Encoding("utf-8", WHOLE_UTF8_REASON)
        self.exact = self.exact or detect_encoding(self.path)
        if self.exact.name != self.name:
            raise _NotAsGuessed(self.exact.name)
        return self.exact

    def _scanned(self, scan: TableCheck, header_row: int) -> bool:
        if scan.bad_encoding or not scan.all_rejects:
            return False
        with self.path.open("rb") as handle:
            start = handle.read(SAMPLE)
        return start.count(b"\n") >= header_row and utf8_lines(self.path, scan.rejected)


def validate_file(path: Path, engine: str = "auto", delimiter: str | None = None) -> dict[str, Any]:
    """Validate one delimited file; returns the report (never raises for the file's faults).

    `auto` and `duckdb` run the per-row and per-cell checks as a DuckDB scan (tablecheck.py) and fall back
    to frictionless when the scan cannot number the rows the way frictionless does; `frictionless` runs
    frictionless on the whole file. Either way the encoding and dialect are decided here first.

    A file whose start is UTF-8 (most are) is scanned while a thread counts its lines; the scan's result
    is used once the encoding is confirmed (see _Guess), and the file is validated again in the encoding
    detect_encoding finds otherwise."""
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; expected one of {', '.join(ENGINES)}")
    started = time.monotonic()
    counter = LineCounter()
    start = utf8_start(path) if engine != "frictionless" else None
    if start is None:
        return _validate(path, engine, delimiter, detect_encoding(path, counter), counter, started)
    with ThreadPoolExecutor(1, thread_name_prefix="lines") as pool:
        guess = _Guess(path, start, pool, counter)
        try:
            return _validate(path, engine, delimiter, Encoding(start, "guessed from the file's start"), counter,
                             started, guess)
        except _NotAsGuessed:
            pass
    assert guess.exact is not None
    return _validate(path, engine, delimiter, guess.exact, counter, started)


def _validate(path: Path, engine: str, delimiter: str | None, encoding: Encoding, counter: LineCounter,
              started: float, guess: _Guess | None = None) -> dict[str, Any]:
    """validate_file in `encoding`; `guess`, when the encoding is one, confirms it once the scan is done, or
    raises _NotAsGuessed (before any result of the guess is used)."""
    from frictionless import Dialect, FrictionlessException, Resource, formats  # heavy: only where validation runs

    def exact(scan: TableCheck | None = None) -> Encoding:
        return guess.confirm(scan, dialect.header_row) if guess is not None else encoding

    try:
        dialect = detect_dialect(path, encoding.name, delimiter)
        note = None
    except DialectError as exc:  # no clear header: validate as frictionless would, the first row as header
        dialect = exc.fallback
        note = f"{exc}; row {dialect.header_row} is taken as the header"
    if len(dialect.header) > MAX_COLUMNS:
        encoding = exact()
    report: dict[str, Any] = {"encoding": encoding.name, "encoding_reason": encoding.reason}
    if note:
        report["dialect_note"] = note
    report.update({"delimiter": dialect.delimiter, "header_row": dialect.header_row, "header": list(dialect.header)})
    if len(dialect.header) > MAX_COLUMNS:
        # frictionless checks a header in time quadratic in its width (10,000 columns: minutes) and DuckDB
        # runs out of memory on it: such a table is refused with its reason, and neither profiled nor packed
        error = ValidationError(type="table-error", message=(
            f"{path.name}: a header of more than {MAX_COLUMNS} columns ({len(dialect.header)} read), more than a "
            "table may have here; "
            "not validated, profiled or packed"))
        return {**report, "delimiter": None, "header": list(dialect.header)[:100], "engine": "none", "valid": False,
                "rows": None, "fields": len(dialect.header), "error_count": 1, "errors_by_type": {"table-error": 1},
                "first_errors": [error.as_dict()], "errors": [error.as_dict()],
                "seconds": round(time.monotonic() - started, 3)}

    def resource() -> Any:
        return Resource(path=path.name, basepath=str(path.parent), format="csv",
                        encoding="utf-8-sig" if encoding.name == "utf-8-sig" else encoding.name,
                        dialect=Dialect(header_rows=[dialect.header_row],
                                        controls=[formats.CsvControl(delimiter=dialect.delimiter)]))

    def lines() -> tuple[int, list[int]] | None:
        if guess is not None:
            guess.count().result()
        return counter.result() if counter.complete and encoding.name != "utf-16" else None

    checked = None
    if engine != "frictionless":
        if guess is not None:
            guess.count()
        try:
            checked = _duckdb_checks(path, resource(), encoding.name, dialect, lines)
            if checked is None:
                report["engine_note"] = "records are not lines (a quoted cell holds a line break): frictionless ran"
        except (duckdb.Error, FrictionlessException) as exc:  # the fallback reports what frictionless sees
            exact()  # a scan of a guessed encoding may fail for that alone
            report["engine_note"] = f"the DuckDB scan failed ({str(exc).splitlines()[0][:200]}): frictionless ran"
    report["encoding_reason"] = exact(checked[0] if checked is not None else None).reason
    if checked is not None:
        scan, fields, errors = checked
        rows = scan.rows
        report["engine"] = "duckdb"
    else:
        result = resource().validate(limit_errors=LIMIT_ERRORS)
        task = result.tasks[0] if result.tasks else None
        errors = [_error(e) for e in (task.errors if task else result.errors)]
        stats = task.stats if task else {}
        rows, fields = stats.get("rows"), stats.get("fields")
        report["engine"] = "frictionless"
    return {**report, "valid": not errors, "rows": rows, "fields": fields, "error_count": len(errors),
            "errors_by_type": dict(Counter(e.type for e in errors)),
            "first_errors": [e.as_dict() for e in errors[:FIRST_ERRORS]],
            "errors": [e.as_dict() for e in errors[:LISTED_ERRORS]],
            "seconds": round(time.monotonic() - started, 3)}


def _duckdb_checks(path: Path, resource: Any, encoding: str, dialect: Any,
                   lines: Callable[[], tuple[int, list[int]] | None]) -> tuple[TableCheck, int, list[ValidationError]] | None:
    """Frictionless's schema and header errors, then the row checks as one DuckDB scan (tablecheck.py). A
    Latin-1 file is read by DuckDB itself unless it holds bytes 0x80-0x9F, which DuckDB refuses: then, as
    for cp1252, from a UTF-8 copy."""
    with resource:
        fields = list(resource.schema.fields)
        header_errors = [_error(e) for e in resource.header.errors]
    check = partial(check_table, delimiter=dialect.delimiter, header_row=dialect.header_row, fields=fields,
                    limit=LIMIT_ERRORS, lines=lines)
    checked: Any = _NOT_READ
    if encoding == LATIN_1:
        try:
            checked = check(path, encoding=LATIN_1)
        except duckdb.Error as exc:
            if "latin-1" not in str(exc):
                raise
    if checked is _NOT_READ:
        with utf8_copy(path, encoding) as readable:
            checked = check(readable)
    if checked is None:
        return None
    return checked, len(fields), (header_errors + checked.errors)[:LIMIT_ERRORS]


_NOT_READ = object()


def validate(settings: Settings, *, catalogs: list[str] | None = None,
             progress: Progress | None = None, deadline: float | None = None) -> ValidationSummary:
    """Validate every table of every fetched file that changed since it was last validated; no file is
    started after `deadline` (time.monotonic())."""
    progress = progress or SilentProgress()
    if catalogs:
        settings.select(catalogs)
    summary = ValidationSummary()
    with Store(settings.paths.database) as store:
        chosen = store.files_to_validate(catalogs, DELIMITED + TEXT + CONTAINERS)
        progress.start("validate", len(chosen))
        changed = [file for file in chosen if not file.unchanged]
        summary.unchanged = done = len(chosen) - len(changed)
        # each file's tables are checked here or on Dask workers (harvester/scale.py); only this process
        # writes the store, one file's validations as each comes back
        for file, tables in run_tasks(settings.scale, partial(_validate_resource, settings), changed,
                                      deadline=deadline):
            done += 1
            progress.update("validate", done, len(chosen))
            store.record_validations(file.key, tables)
            for table in tables:
                if table.valid is None:
                    continue
                summary.validated += 1
                summary.valid += bool(table.valid)
                summary.invalid += not table.valid
                for kind, count in table.errors_by_type.items():
                    summary.by_error_type[kind] = summary.by_error_type.get(kind, 0) + count
        summary.left = len(chosen) - done
        progress.finish("validate", f"{summary.validated} tables validated ({summary.valid} valid, "
                                    f"{summary.invalid} invalid), {summary.unchanged} files unchanged"
                                    + (f", {summary.left} left for the next run (deadline)" if summary.left else ""))
    return summary


def _validate_resource(settings: Settings, file: FileToValidate) -> list[TableValidation]:
    """One validation per table of a fetched file (one with valid None when it holds none), each of its
    own part."""
    base = TableValidation(file.catalog_id, file.dataset_id, file.resource_id, file.sha256, validated_at=utcnow())
    source = file.sniffed_format.lower()
    try:
        path = settings.paths.under_root(file.path)
        tables = extract_tables(path, file.sniffed_format, max_member_bytes=settings.fetch.max_member_bytes)
    except (TableError, PathEscape) as exc:
        error = ValidationError("table-error", str(exc))
        return [replace(base, source=source, valid=False, error_count=1, errors_by_type={error.type: 1},
                        first_errors=(error,))]
    if not tables:
        return [replace(base, source=f"{source} without tables")]
    validations = []
    for table in tables:
        try:
            checked = validate_file(table.path, delimiter=table.delimiter)
        except Exception as exc:  # noqa: BLE001 - one table the validator cannot handle must not stop the stage
            message = f"{table.path.name}: the validator failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            error = ValidationError("validation-error", message).as_dict()
            checked = {"engine": "none", "valid": False, "encoding": None, "error_count": 1,
                       "errors_by_type": {"validation-error": 1}, "first_errors": [error], "errors": [error],
                       "seconds": 0.0}
        report = {"source": table.source, "part": table.part, **({"note": table.note} if table.note else {}),
                  **checked}
        report_path = table.path.with_name(table.path.name + ".validation.json")
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        validations.append(replace(
            base, part=table.part, source=table.source, table_path=str(table.path.relative_to(settings.paths.root)),
            engine=report["engine"], valid=report["valid"], encoding=report["encoding"],
            delimiter=report.get("delimiter"), header_row=report.get("header_row"), rows=report.get("rows"),
            error_count=report["error_count"], errors_by_type=dict(report["errors_by_type"]),
            first_errors=tuple(ValidationError.from_dict(e) for e in report["first_errors"]),
            report_path=str(report_path.relative_to(settings.paths.root)), seconds=report["seconds"]))
    return validations
