"""Results as text for people: the tables the CLI, the demo and the nightly log print."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from harvester.fetch import FetchSummary
    from harvester.harvest import CatalogResult


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table: readable in a terminal, a cron mail and a CI log alike."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def harvest_table(results: Sequence["CatalogResult"]) -> str:
    """One line per harvested catalog."""
    return render_table(
        ["catalog", "status", "mode", "added", "updated", "unchanged", "deleted", "failed", "requests", "time"],
        [[r.catalog_id, r.status, r.mode, r.added, r.updated, r.unchanged, r.deleted, r.failed, r.requests,
          f"{r.seconds:.1f}s"] for r in results])


def fetch_table(summary: "FetchSummary") -> str:
    """Resources by link status."""
    return render_table(["status", "resources"], sorted(summary.by_status.items()))
