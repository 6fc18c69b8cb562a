"""A pack's README.md (Spanish) and README.en.md (English): what the pack is for, how to load a table, its
allies and documents, and per table what was changed, the validation errors and profile alerts left, how
stacked files were aligned and its data dictionary. Every text from a portal goes through `md_cell` (inert
Markdown on one line).

The fixed text is English msgids translated through the Spanish catalog (harvester/i18n.py), with the
language passed in, never a process-wide one; numbers and days are written with i18n's Babel helpers in the
language's conventions, from the pack's own data only, so both files rebuild to the same bytes anywhere.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harvester.i18n import NAMES, Language, N_, format_datetime, format_number, format_percent, translations
from harvester.model import TableExpectations
from harvester.packnotes import Note
from harvester.packstack import ORIGIN_COLUMNS, ORIGIN_NAMES
from harvester.packtable import PackField, field_descriptor, keying_text
from harvester.themes import Theme

if TYPE_CHECKING:
    from harvester.pack import PackDoc

FILES: dict[Language, str] = {"es": "README.md", "en": "README.en.md"}
"""Each language's README in a pack: Spanish is the one a folder shows first."""

FORMS = {"thousands": N_("thousands separators"), "decimal_comma": N_("decimal comma"), "dmy": N_("day first"),
         "mdy": N_("month first")}
"""How the source wrote a converted column, as the data dictionary says it."""


def md_cell(text: Any) -> str:
    """Portal text as inert Markdown: no HTML (a renderer would run `<img onerror>`), no table break, one line."""
    value = str(text if text is not None else "")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).replace("|", "\\|")


def readme(theme: Theme, resources: list[dict[str, Any]], allies: list[dict[str, Any]],
           results: list[TableExpectations], docs: list["PackDoc"], lang: Language) -> str:
    """The README in `lang` (its twin in the other language is linked at the top)."""
    chosen = translations(lang)
    _, ngettext = chosen.gettext, chosen.ngettext
    other = "en" if lang == "es" else "es"
    first = resources[0]["descriptor"]["path"]
    datasets = len({r["table"].dataset.ref for r in resources})
    lines = [f"[{NAMES[other]}]({FILES[other]})", "", f"# {theme.title}", "",
             theme.problem_es if lang == "es" else theme.problem_en, "",
             _("%(tables)s tables from %(datasets)s datasets, chosen by the organizers' theme profile and its quality "
               "gates, validated and converted to Parquet. `datapackage.json` describes them (a Frictionless Data "
               "Package), `provenance.json` says where each came from, `expectations.json` holds the Great "
               "Expectations results, `allies.json` the publishers.")
             % {"tables": format_number(len(resources), lang), "datasets": format_number(datasets, lang)},
             "", "## " + _("Load a table"), "", "```python", "import pandas as pd", f'df = pd.read_parquet("{first}")',
             "```", "", "```python", "import duckdb", f"duckdb.sql(\"SELECT * FROM '{first}'\").df()", "```", "",
             "```r", f'df <- arrow::read_parquet("{first}")', "```", "",
             _("`inicio.ipynb` loads every table with pandas and with DuckDB and draws a first chart "
               "(`jupyter lab inicio.ipynb` in this folder)."), ""]
    if any("csv_copy" in r["descriptor"] for r in resources):
        lines += [_("Every table is also in `csv/` for spreadsheets (UTF-8 with a byte order mark, comma-delimited, "
                    "ISO dates)."), ""]
    lines += ["## " + _("Allies"), ""]
    for ally in allies:
        contacts = ", ".join(f"{md_cell(c['name'])} ({md_cell(c['email'])})" if c["email"] else md_cell(c["name"])
                             for c in ally["contacts"])
        count = ngettext("%(num)s dataset", "%(num)s datasets", len(ally["datasets"])) % {
            "num": format_number(len(ally["datasets"]), lang)}
        contacts = contacts or _("no contact point published")
        lines.append(f"- **{md_cell(ally['organization'] or ally['id'])}** ({', '.join(ally['catalogs'])}): "
                     f"{contacts}; {count}")
    if docs:
        lines += ["", "## " + _("Documents"), "",
                  _("Documentation published with the datasets (dictionaries, methodologies):"), ""]
        lines += [f"- `docs/{d.name}` ({md_cell(d.dataset)}): `{_code(d.url)}`" for d in docs]
    checks = {r.table: r for r in results}
    lines += ["", "## " + _("Tables"), ""]
    for resource in resources:
        d, t = resource["descriptor"], resource["table"]
        check = checks[d["name"]]
        failed = [c.check for c in check.checks if not c.success]
        entry = resource["entry"]
        sources = [entry] if "stacked_from" not in entry else entry["stacked_from"]
        left_out = sum(e.get("rows_left_out", 0) for e in sources)
        source_rows = sum((e["rows"] + e.get("rows_left_out", 0)) for e in sources)
        rows = _rows(resource["rows"], lang)
        if left_out:
            rows = _("%(rows)s (%(left_out)s of the source's %(source_rows)s left out: rows DuckDB could not read as "
                     "the header's columns (more cells than the header, or broken quoting); the validation report "
                     "lists them as errors)") % {"rows": rows, "left_out": format_number(left_out, lang),
                                                  "source_rows": format_number(source_rows, lang)}
        lines += [f"### {md_cell(d['title'])}", "",
                  "- " + _("File: `%(path)s`, %(rows)s") % {"path": d["path"], "rows": rows}]
        if "stacked_from" in entry:
            lines += ["- " + _("Stacked files (%(count)s):") % {"count": format_number(len(sources), lang)}]
            lines += ["  - " + _("«%(file)s», %(period)s, %(rows)s, `%(url)s`, retrieved %(retrieved)s") % {
                "file": md_cell(e["file"]), "period": md_cell(e["period"] or _("no period")),
                "rows": _rows(e["rows"], lang), "url": _code(e["source_url"]),
                "retrieved": format_datetime(e["source_changed_at"], lang)} for e in sources]
            files = [f"«{md_cell(e['file'])}»" for e in sources]
            lines += ["", "| " + " | ".join(files + [_("column in the pack")]) + " |",
                      "|" + "---|" * (len(sources) + 1)]
            stacked = [f.name for f in resource["fields"] if f.name not in ORIGIN_COLUMNS]
            for column in stacked:
                cells = [next((md_cell(o) for o, c in e["columns"].items() if c == column), "—") for e in sources]
                lines.append("| " + " | ".join(cells) + f" | `{column}` |")
            lines.append("")
        else:
            lines += ["- " + _("Source: `%(url)s`") % {"url": _code(t.url)},
                      "- " + _("Retrieved: %(when)s (when this content was first fetched)") % {
                          "when": format_datetime(t.changed_at, lang)}]
        elsewhere = sorted({ref for e in sources for ref in e.get("also_published", ())})
        if elsewhere:  # the same dataset or file in other catalogs or datasets: packed once, here
            lines += ["- " + _("Also published as (packed once, here): %(refs)s") % {
                "refs": ", ".join(f"`{_code(ref)}`" for ref in elsewhere)}]
        lines += ["- " + _("Publisher: %(publisher)s") % {"publisher": md_cell(resource["publisher"] or "–")},
                  "- " + _("Licence: %(licence)s") % {"licence": md_cell(resource["licence"] or _("not given"))},
                  "- " + (_("Expectations: all met") if not failed else _("Expectations: not met: %(checks)s") % {
                      "checks": "; ".join(check_label(c, lang) for c in failed)}), ""]
        lines += _notes_markdown(resource["notes"], lang)
        lines += ["#### " + _("Data dictionary"), "", "| " + " | ".join(_(h) for h in DICTIONARY) + " |",
                  "|---|---|---|---:|---|---|---|"]
        for f in resource["fields"]:
            profile = f.profile
            top = [v for v, _n in (profile.top_values if profile else ())[:3]]
            examples = ", ".join(md_cell(v) for v in (top or f.examples))
            missing = profile.missing_share if profile else None
            spelled = ", ".join(f"`{md_cell(p).replace('`', '')}` ×{format_number(n, lang)}"
                                for p, n in f.placeholders.items())
            original = _(ORIGIN_NAMES[f.name]) if f.name in ORIGIN_NAMES else md_cell(f.original)
            lines.append(f"| `{f.name}` | {original} | {dictionary_type(f, lang)} | "
                         f"{'' if missing is None else format_percent(missing, lang)} | {spelled} | {examples} | "
                         f"{_described(f, lang)} |")
        lines.append("")
    return "\n".join(lines)


DICTIONARY = (N_("column"), N_("original name"), N_("data type"), N_("share missing"), N_("placeholders (now null)"),
              N_("examples"), N_("description"))
"""The data dictionary's columns."""


def _rows(count: int, lang: Language) -> str:
    return translations(lang).ngettext("%(num)s row", "%(num)s rows", count) % {"num": format_number(count, lang)}


def _code(text: Any) -> str:
    """Portal text (a URL) inside a Markdown code span: inert, and no backtick to end the span."""
    return md_cell(text).replace("`", "%60")


def _described(f: PackField, lang: Language) -> str:
    """A column's description and value labels in the README's dictionary, with where they come from, then how
    its places were keyed, in the README's language (`packtable.keying_text`)."""
    parts = [md_cell(f.description)] if f.description else []
    if f.value_labels:
        parts.append("; ".join(f"`{md_cell(k).replace('`', '')}` = {md_cell(v)}" for k, v in list(f.value_labels.items())[:20]))
    portal = " — ".join(parts) + (f" ({md_cell(f.described_by)})" if parts else "")
    keyed = keying_text(f, lang)
    return " ".join(part for part in (portal, md_cell(keyed) if keyed else "") if part)


CHECKS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), message) for pattern, message in (
    (r"required column (?P<column>.+)", N_("required column %(column)s")),
    (r"(?P<column>.+): one of the 16 alcaldías", N_("%(column)s: one of the 16 alcaldías")),
    (r"(?P<column>.+): a latitude inside Mexico City", N_("%(column)s: a latitude inside Mexico City")),
    (r"(?P<column>.+): a longitude inside Mexico City", N_("%(column)s: a longitude inside Mexico City")),
    (r"(?P<column>.+): a share between 0 and 100", N_("%(column)s: a share between 0 and 100")),
    (r"(?P<column>.+): a count, not negative", N_("%(column)s: a count, not negative")),
    (r"(?P<column>.+): dates that parse", N_("%(column)s: dates that parse")),
))
"""The labels harvester/expectations.py gives its checks (expectations.json keeps them as they are)."""


def check_label(label: str, lang: Language) -> str:
    """An expectation's label in the README's language; a label of no known form as it is."""
    for pattern, message in CHECKS:
        found = pattern.fullmatch(label)
        if found is not None:
            return translations(lang).gettext(message) % {"column": md_cell(found["column"])}
    return md_cell(label)


NOTE_HEADINGS = {"change": (N_("What was changed"), N_("No changes.")),
                 "validation": (N_("Validation errors left in the source"), N_("No validation errors.")),
                 "alert": (N_("Profile alerts"), N_("No alerts."))}
"""Each kind of note: its heading in a table's section, and what the section says when it has none."""


def _notes_markdown(notes: list[Note], lang: Language) -> list[str]:
    """A table's notes in its README section, each kind under its heading, in the README's language."""
    _ = translations(lang).gettext
    lines: list[str] = []
    for kind, (heading, none) in NOTE_HEADINGS.items():
        chosen = [n for n in notes if n.kind == kind]
        lines += [f"#### {_(heading)}", ""]
        for n in chosen:
            where = f"«{md_cell(n.file)}»: " if n.file and n.code not in ("column_mapped", "column_absent") else ""
            lines.append(f"- {where}{md_cell(n.es if lang == 'es' else n.en)}")
        if not chosen:
            lines.append(f"- {_(none)}")
        lines.append("")
    return lines


def dictionary_type(f: PackField, lang: Language) -> str:
    """The type the data dictionary shows: the datapackage's (a code, as datapackage.json writes it), with how
    the source wrote it."""
    kind = field_descriptor(f)["type"]
    if f.type == "geopoint":
        return f"`geopoint` ({f.form.replace('_array', ', array').replace('_', ',')})"
    if f.type == "geojson":
        return "`geojson` (3D)" if f.form == "3d" else "`geojson`"
    return f"`{kind}` ({translations(lang).gettext(FORMS[f.form])})" if f.form in FORMS else f"`{kind}`"
