"""Results as text for people: the tables the CLI, the demo and the nightly log print, in the language of
`harvester.i18n.use` (the CLI's `--lang`); the values in them (statuses, ids, portals' names) as they are."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from harvester.i18n import NP_, _, count

if TYPE_CHECKING:
    from harvester.fetch import FetchSummary
    from harvester.harvest import CatalogResult
    from harvester.pack import PackResult
    from harvester.progress import Progress

# Characters a terminal or a log reader acts on rather than shows: C0 and C1 controls (ESC starts an escape
# sequence, a newline forges a log line), DEL, line and paragraph separators, and the bidirectional
# overrides that reorder what is shown.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(value: Any) -> str:
    """Text from a portal (or anywhere) made safe to print: every control character shown escaped
    (`\\x1b`, `\\n`, `\\u202e`), so a name can neither drive the terminal nor start a line of its own."""
    return _UNPRINTABLE.sub(_escaped, "" if value is None else str(value))


class PrintableProgress:
    """A Progress whose messages are `printable` (a harvest's failure reason can carry a portal's text)."""

    def __init__(self, inner: "Progress") -> None:
        self.inner = inner

    def start(self, task: str, total: int | None = None) -> None:
        self.inner.start(printable(task), total)

    def update(self, task: str, done: int, total: int | None = None) -> None:
        self.inner.update(printable(task), done, total)

    def finish(self, task: str, message: str) -> None:
        self.inner.finish(printable(task), printable(message))

    def close(self) -> None:
        self.inner.close()


def pack_counts(result: "PackResult") -> dict[str, str]:
    """A pack build's counts with their words, as the CLI's and the demo's summaries say them: `tables` (`11
    tablas`), `datasets` (`de 8 conjuntos de datos`), `rejected` (`8 candidatos rechazados por los filtros`)."""
    return {"tables": count(NP_("%(num)s table", "%(num)s tables"), result.tables),
            "datasets": count(NP_("from %(num)s dataset", "from %(num)s datasets"), result.datasets),
            "rejected": count(NP_("%(num)s candidate rejected by the gates", "%(num)s candidates rejected by the gates"),
                              result.rejected)}


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table: readable in a terminal, a cron mail and a CI log alike."""
    headers = [printable(h) for h in headers]
    cells = [[printable(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def wrapped_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int | None = None,
                  wide: dict[str, int] | None = None) -> str:
    """A table that fits the terminal's width (rich; `COLUMNS`, else 120 off a terminal): long cells wrap
    inside their column, so nothing is cut off; the `wide` columns share the room left, by their ratios."""
    wide = wide or {}
    import io
    import shutil

    from rich.console import Console
    from rich.table import Table
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(printable(header), overflow="fold", ratio=wide.get(header), no_wrap=header not in wide)
    for row in rows:
        table.add_row(*(printable(v) for v in row))
    out = io.StringIO()
    Console(file=out, width=width or shutil.get_terminal_size((120, 24)).columns, color_system=None,
            highlight=False, emoji=False, markup=False, soft_wrap=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def clip(text: str, width: int) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def harvest_table(results: Sequence["CatalogResult"]) -> str:
    """One line per harvested catalog."""
    return render_table(
        [_("catalog"), _("status"), _("mode"), _("added"), _("updated"), _("unchanged"), _("deleted"), _("failed"),
         _("requests"), _("time")],
        [[r.catalog_id, r.status, r.mode, r.added, r.updated, r.unchanged, r.deleted, r.failed, r.requests,
          f"{r.seconds:.1f}s"] for r in results])


def fetch_table(summary: "FetchSummary") -> str:
    """Resources by link status."""
    return render_table([_("status"), _("resources")], sorted(summary.by_status.items()))
