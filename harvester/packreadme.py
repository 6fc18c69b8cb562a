"""A pack's README.md: what the pack is for, how to load a table, its allies and documents, and per table
what was changed, the validation errors and profile alerts left, how stacked files were aligned and its
data dictionary. Every text from a portal goes through `md_cell` (inert Markdown on one line)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harvester.model import TableExpectations
from harvester.packnotes import Note
from harvester.packstack import ORIGIN_COLUMNS
from harvester.packtable import PackField, field_descriptor, left_out_of
from harvester.themes import Theme

if TYPE_CHECKING:
    from harvester.pack import PackDoc

FORMS = {"thousands": "con separador de miles / thousands separators", "decimal_comma": "coma decimal / decimal comma",
         "dmy": "día primero / day first", "mdy": "mes primero / month first"}
"""How the source wrote a converted column, as the data dictionary says it."""


def md_cell(text: Any) -> str:
    """Portal text as inert Markdown: no HTML (a renderer would run `<img onerror>`), no table break, one line."""
    value = str(text if text is not None else "")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).replace("|", "\\|")


def readme(theme: Theme, resources: list[dict[str, Any]], allies: list[dict[str, Any]],
            results: list[TableExpectations], docs: list["PackDoc"]) -> str:
    first = resources[0]["descriptor"]["path"]
    lines = [f"# {theme.title}", "", theme.problem_es, "", theme.problem_en, "",
             f"{len(resources)} tables from {len({r['table'].dataset.ref for r in resources})}"
             " datasets, chosen by the organizers' theme profile and its quality gates, validated and converted to "
             "Parquet. `datapackage.json` describes them (a Frictionless Data Package), `provenance.json` says where "
             "each came from, `expectations.json` holds the Great Expectations results, `allies.json` the publishers.",
             "", "## Load a table", "", "```python", "import pandas as pd", f'df = pd.read_parquet("{first}")', "```",
             "", "```python", "import duckdb", f"duckdb.sql(\"SELECT * FROM '{first}'\").df()", "```", "", "```r",
             f'df <- arrow::read_parquet("{first}")', "```", "",
             "`inicio.ipynb` carga todas las tablas con pandas y con DuckDB y dibuja una primera gráfica / loads every "
             "table with pandas and DuckDB and draws a first chart (`jupyter lab inicio.ipynb` in this folder).", ""]
    if any("csv_copy" in r["descriptor"] for r in resources):
        lines += ["Cada tabla también está en `csv/` para hojas de cálculo (UTF-8 con BOM, coma, fechas ISO) / every "
                  "table is also in `csv/` for spreadsheets (UTF-8 with a BOM, comma-delimited, ISO dates).", ""]
    lines += ["## Allies", ""]
    for ally in allies:
        contacts = ", ".join(f"{md_cell(c['name'])} ({md_cell(c['email'])})" if c["email"] else md_cell(c["name"])
                             for c in ally["contacts"])
        lines.append(f"- **{md_cell(ally['organization'] or ally['id'])}** ({', '.join(ally['catalogs'])}): "
                     f"{contacts or 'no contact point published'}; {len(ally['datasets'])} datasets")
    if docs:
        lines += ["", "## Documentos / Documents", "",
                  "Documentación publicada con los conjuntos de datos (diccionarios, metodologías) / documentation "
                  "published with the datasets (dictionaries, methodologies):", ""]
        lines += [f"- `docs/{d.name}` ({md_cell(d.dataset)}): `{md_cell(d.url).replace('`', '%60')}`" for d in docs]
    checks = {r.table: r for r in results}
    lines += ["", "## Tables", ""]
    for resource in resources:
        d, t = resource["descriptor"], resource["table"]
        check = checks[d["name"]]
        failed = [c.check for c in check.checks if not c.success]
        entry = resource["entry"]
        sources = [entry] if "stacked_from" not in entry else entry["stacked_from"]
        left_out = {"rows_left_out": sum(e.get("rows_left_out", 0) for e in sources)} if any(
            e.get("rows_left_out") for e in sources) else {}
        source_rows = sum((e["rows"] + e.get("rows_left_out", 0)) for e in sources)
        rows = f"{resource['rows']} rows" + (f" ({left_out['rows_left_out']} of the source's {source_rows} left "
                                             f"out: {left_out_of(source_rows, resource['rows'])['why_left_out']})"
                                             if left_out else "")
        lines += [f"### {md_cell(d['title'])}", "", f"- File: `{d['path']}`, {rows}"]
        if "stacked_from" in entry:
            lines += [f"- Archivos unidos / Stacked files ({len(sources)}):"]
            lines += [f"  - «{md_cell(e['file'])}», {md_cell(e['period'] or 'sin periodo / no period')}, {e['rows']} rows, "
                      f"`{md_cell(e['source_url']).replace('`', '%60')}`, retrieved {e['source_changed_at'] or '-'}"
                      for e in sources]
            lines += ["", "| " + " | ".join(f"«{md_cell(e['file'])}»" for e in sources) + " | column in the pack |",
                      "|" + "---|" * (len(sources) + 1)]
            stacked = [f.name for f in resource["fields"] if f.name not in ORIGIN_COLUMNS]
            for column in stacked:
                cells = [next((md_cell(o) for o, c in e["columns"].items() if c == column), "—") for e in sources]
                lines.append("| " + " | ".join(cells) + f" | `{column}` |")
            lines.append("")
        else:
            lines += [f"- Source: `{md_cell(t.url).replace('`', '%60')}`",
                      f"- Retrieved: {(t.changed_at.isoformat() if t.changed_at else None) or '-'} (when this content was first fetched)"]
        lines += [f"- Publisher: {md_cell(resource['publisher'] or '-')}",
                  f"- Licence: {md_cell(resource['licence'] or 'not given')}",
                  f"- Expectations: {'all met' if not failed else 'not met: ' + '; '.join(failed)}", ""]
        lines += _notes_markdown(resource["notes"])
        lines += ["#### Diccionario de datos / Data dictionary", "",
                  "| column | original name | type | missing | placeholders (now null) | examples | description |",
                  "|---|---|---|---:|---|---|---|"]
        for f in resource["fields"]:
            profile = f.profile
            top = [v for v, _ in (profile.top_values if profile else ())[:3]]
            examples = ", ".join(md_cell(v) for v in (top or f.examples))
            missing = profile.missing_share if profile else None
            spelled = ", ".join(f"`{md_cell(p).replace('`', '')}` ×{n:,}" for p, n in f.placeholders.items())
            lines.append(f"| `{f.name}` | {md_cell(f.original)} | {dictionary_type(f)} | "
                         f"{'' if missing is None else f'{missing:.0%}'} | {spelled} | {examples} | {_described(f)} |")
        lines.append("")
    return "\n".join(lines)


def _described(f: PackField) -> str:
    """A column's description and value labels in the README's dictionary, with where they come from."""
    parts = [md_cell(f.description)] if f.description else []
    if f.value_labels:
        parts.append("; ".join(f"`{md_cell(k).replace('`', '')}` = {md_cell(v)}" for k, v in list(f.value_labels.items())[:20]))
    return " — ".join(parts) + (f" ({md_cell(f.described_by)})" if parts else "")


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
            where = f"«{md_cell(n.file)}»: " if n.file and n.code not in ("column_mapped", "column_absent") else ""
            lines += [f"- {where}{md_cell(n.es)}", f"  _{where}{md_cell(n.en)}_"]
        if not chosen:
            lines.append("- Ninguno / None")
        lines.append("")
    return lines


def dictionary_type(f: PackField) -> str:
    """The type the data dictionary shows: the datapackage's, with how the source wrote it."""
    kind = field_descriptor(f)["type"]
    if f.type == "geopoint":
        return f"geopoint ({f.form.replace('_array', ', array').replace('_', ',')})"
    if f.type == "geojson":
        return "geojson (3D)" if f.form == "3d" else "geojson"
    return f"{kind} ({FORMS[f.form]})" if f.form in FORMS else kind
