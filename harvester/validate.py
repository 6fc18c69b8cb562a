"""The validate stage: every fetched delimited file checked with Frictionless, on the whole file.

Encoding and dialect are decided here first (over the whole file and after any preamble rows) and
handed to Frictionless explicitly: left to itself it guesses the encoding from a sample and calls a
cp1252 file valid while reading every accent as garbage. The report lands in `validations` and as
JSON beside the file. A file whose sha256 was already validated is not validated again.

Still to come: XLSX sheets, JSON tables and CSVs inside ZIPs, and the DuckDB fast path for the
per-row and per-cell checks on large files.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester.clock import utcnow
from harvester.config import Settings
from harvester.dialect import DialectError, detect_dialect
from harvester.encoding import detect_encoding
from harvester.progress import Progress, SilentProgress
from harvester.store import Store

TABULAR = ("CSV", "TSV")
FIRST_ERRORS = 50
LIMIT_ERRORS = 100_000


@dataclass
class ValidationSummary:
    validated: int = 0
    valid: int = 0
    invalid: int = 0
    unchanged: int = 0
    by_error_type: dict[str, int] = field(default_factory=dict)


def validate_file(path: Path) -> dict[str, Any]:
    """Validate one delimited file; returns the report (never raises for the file's faults)."""
    from frictionless import Dialect, Resource, formats  # heavy import, only where validation runs

    started = time.monotonic()
    encoding = detect_encoding(path)
    report: dict[str, Any] = {"encoding": encoding.name, "encoding_reason": encoding.reason}
    try:
        dialect = detect_dialect(path, encoding.name)
    except DialectError as exc:
        return {**report, "valid": False, "error_count": 1, "errors_by_type": {"dialect-error": 1},
                "first_errors": [{"type": "dialect-error", "message": str(exc)}],
                "seconds": time.monotonic() - started}
    resource = Resource(path=path.name, basepath=str(path.parent), format="csv",
                        encoding="utf-8-sig" if encoding.name == "utf-8-sig" else encoding.name,
                        dialect=Dialect(header_rows=[dialect.header_row],
                                        controls=[formats.CsvControl(delimiter=dialect.delimiter)]))
    result = resource.validate(limit_errors=LIMIT_ERRORS)
    task = result.tasks[0] if result.tasks else None
    errors = list(task.errors) if task else list(result.errors)
    by_type = Counter(e.type for e in errors)
    stats = task.stats if task else {}
    return {**report, "delimiter": dialect.delimiter, "header_row": dialect.header_row,
            "header": list(dialect.header), "valid": bool(result.valid),
            "rows": stats.get("rows"), "fields": stats.get("fields"), "error_count": len(errors),
            "errors_by_type": dict(by_type),
            "first_errors": [{"type": e.type, "row": getattr(e, "row_number", None),
                              "field": getattr(e, "field_name", None), "message": e.message}
                             for e in errors[:FIRST_ERRORS]],
            "seconds": round(time.monotonic() - started, 3)}


def validate(settings: Settings, *, catalogs: list[str] | None = None,
             progress: Progress | None = None) -> ValidationSummary:
    progress = progress or SilentProgress()
    if catalogs:
        settings.select(catalogs)
    summary = ValidationSummary()
    with Store(settings.paths.database) as store:
        params: list[Any] = []
        sql = ("SELECT f.catalog_id, f.dataset_id, f.resource_id, f.path, f.sha256, v.sha256 AS validated_sha256 "
               "FROM resource_files f LEFT JOIN validations v ON v.catalog_id = f.catalog_id "
               "AND v.dataset_id = f.dataset_id AND v.resource_id = f.resource_id "
               "WHERE f.status IN ('ok', 'not_modified') AND f.path IS NOT NULL "
               f"AND f.sniffed_format IN ({', '.join('?' for _ in TABULAR)})")
        params.extend(TABULAR)
        if catalogs:
            sql += f" AND f.catalog_id IN ({', '.join('?' for _ in catalogs)})"
            params.extend(catalogs)
        chosen = store.query(sql + " ORDER BY ALL", params)
        progress.start("validate", len(chosen))
        for done, row in enumerate(chosen, 1):
            progress.update("validate", done, len(chosen))
            if row["validated_sha256"] == row["sha256"]:
                summary.unchanged += 1
                continue
            path = settings.paths.root / row["path"]
            report = validate_file(path)
            report_path = path.with_name(path.name + ".validation.json")
            report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
            store.record_validation({
                "catalog_id": row["catalog_id"], "dataset_id": row["dataset_id"], "resource_id": row["resource_id"],
                "sha256": row["sha256"], "valid": report["valid"], "encoding": report["encoding"],
                "delimiter": report.get("delimiter"), "header_row": report.get("header_row"),
                "rows": report.get("rows"), "error_count": report["error_count"],
                "errors_by_type": json.dumps(report["errors_by_type"], ensure_ascii=False),
                "first_errors": json.dumps(report["first_errors"], ensure_ascii=False),
                "report_path": str(report_path.relative_to(settings.paths.root)),
                "seconds": report["seconds"], "validated_at": utcnow()})
            summary.validated += 1
            if report["valid"]:
                summary.valid += 1
            else:
                summary.invalid += 1
            for kind, count in report["errors_by_type"].items():
                summary.by_error_type[kind] = summary.by_error_type.get(kind, 0) + count
        progress.finish("validate", f"{summary.validated} validated ({summary.valid} valid, {summary.invalid} "
                                    f"invalid), {summary.unchanged} unchanged")
    return summary
