"""What a pack tells a team about each table, in one plain sentence each, in Spanish and in English.

Three kinds of note, each from a code to a message (an English msgid with named placeholders; its Spanish is
in harvester/locale/es/LC_MESSAGES/harvester.po, like every message of the harvester):
- CHANGES: what the pack did to the source (placeholders made null, decimal commas and thousands
  separators converted, dates read day first, names normalized, files stacked, rows left out);
- VALIDATION: the validation errors that remain in the source (every error type the validate stage can
  record: Frictionless's and the stage's own);
- ALERTS: the profiler's alerts on a column (`harvester.alerts.Alert`).

`note()` fills a message's placeholders (`%(column)s`, `%(count)s`, ...) in both languages: a Note keeps the
Spanish (`es`) and the English (`en`) sentence, since datapackage.json carries both. A value given with an
`_en` twin (`where` and `where_en`, `why` and `why_en`) is the Spanish one's, its twin the English one's. A
code without a message is a KeyError, and tests/test_pack_notes.py holds that every code the stages can
produce has one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvester.alerts import Alert
from harvester.i18n import LANGUAGES, Language, N_, NP_, format_number, translations

Message = str | tuple[str, str]
"""A message (N_), or its singular and plural forms (NP_) when it has a `count`."""

CHANGES: dict[str, Message] = {
    "placeholders_null": NP_(
        "Column `%(column)s`: %(count)s cell written %(spelled)s (the portal's way of saying «no data») "
        "became a null.",
        "Column `%(column)s`: %(count)s cells written %(spelled)s (the portal's way of saying «no data») "
        "became nulls."),
    "decimal_comma": N_(
        "Column `%(column)s`: numbers came with a decimal comma (`12,5`) and were converted to numbers (12.5)."),
    "thousands": N_(
        "Column `%(column)s`: numbers came with thousands separators (`1,306,521.00`) and were converted to "
        "numbers (1306521.0)."),
    "day_first": N_("Column `%(column)s`: dates came day first (`03/01/2014` is 3 January) and were read that way."),
    "month_first": N_("Column `%(column)s`: dates came month first (`1/13/2014`) and were read that way."),
    "names_normalized": NP_(
        "The name of %(count)s column was normalized (lower case, no accents, ñ as ni, symbols as words; the "
        "original name stays as the `title` in datapackage.json): %(renames)s.",
        "The names of %(count)s columns were normalized (lower case, no accents, ñ as ni, symbols as words; "
        "the original name stays as the `title` in datapackage.json): %(renames)s."),
    "name_repaired": N_(
        "The name of column «%(original)s» came with a broken encoding and was repaired as `%(column)s`."),
    "stacked": N_(
        "This table stacks %(count)s files of the same dataset (%(files)s); the columns `origen_archivo` and "
        "`origen_periodo` say which file and period each row came from."),
    "column_mapped": N_("In the file «%(file)s» the column «%(original)s» was joined with `%(column)s` (%(why)s)."),
    "column_absent": N_("The file «%(file)s» has no column `%(column)s`: its rows leave it empty."),
    "type_widened": N_(
        "Column `%(column)s`: the stacked files do not write it the same way, so it was kept as the source's "
        "text so that no value is lost."),
    "not_stacked": N_("Not stacked with «%(other)s» although it is of the same dataset: %(why)s."),
    "rows_left_out": NP_(
        "%(count)s row of the file could not be read as the header's columns (more cells than the header, or "
        "broken quoting) and is not in the pack; the validation report lists it.",
        "%(count)s rows of the file could not be read as the header's columns (more cells than the header, or"
        " broken quoting) and are not in the pack; the validation report lists them."),
}

VALIDATION: dict[str, Message] = {
    "missing-cell": NP_(
        "%(count)s row has fewer cells than the header%(where)s; the missing ones are empty.",
        "%(count)s rows have fewer cells than the header%(where)s; the missing ones are empty."),
    "extra-cell": NP_(
        "%(count)s row has more cells than the header%(where)s.",
        "%(count)s rows have more cells than the header%(where)s."),
    "type-error": NP_(
        "%(count)s cell does not have the type of the rest of its column%(where)s; that column was kept as "
        "text so that no value is lost.",
        "%(count)s cells do not have the type of the rest of their column%(where)s; those columns were kept "
        "as text so that no value is lost."),
    "blank-row": NP_(
        "%(count)s row is completely empty%(where)s.",
        "%(count)s rows are completely empty%(where)s."),
    "blank-label": NP_(
        "%(count)s column has no name in the header%(where)s; the pack gives it one (`column_N`).",
        "%(count)s columns have no name in the header%(where)s; the pack gives them one (`column_N`)."),
    "duplicate-label": NP_(
        "%(count)s column repeats another's name%(where)s; the pack adds `_2`, `_3`... to it.",
        "%(count)s columns repeat another's name%(where)s; the pack adds `_2`, `_3`... to them."),
    "blank-header": N_("The header is empty."),
    "extra-label": NP_(
        "%(count)s header column is not in the declared schema%(where)s.",
        "%(count)s header columns are not in the declared schema%(where)s."),
    "missing-label": NP_(
        "%(count)s column of the declared schema is missing from the header%(where)s.",
        "%(count)s columns of the declared schema are missing from the header%(where)s."),
    "incorrect-label": NP_(
        "%(count)s header column is not named as the declared schema says%(where)s.",
        "%(count)s header columns are not named as the declared schema says%(where)s."),
    "header-error": NP_(
        "The header has %(count)s problem%(where)s.",
        "The header has %(count)s problems%(where)s."),
    "label-error": NP_(
        "%(count)s column name has problems%(where)s.",
        "%(count)s column names have problems%(where)s."),
    "unmatched-header": N_("The header matches no column of the declared schema."),
    "row-error": NP_(
        "%(count)s row has problems%(where)s.",
        "%(count)s rows have problems%(where)s."),
    "cell-error": NP_(
        "%(count)s cell has problems%(where)s.",
        "%(count)s cells have problems%(where)s."),
    "duplicate-row": NP_(
        "%(count)s row exactly repeats another row%(where)s.",
        "%(count)s rows exactly repeat another row%(where)s."),
    "constraint-error": NP_(
        "%(count)s cell breaks a rule of the declared schema%(where)s.",
        "%(count)s cells break a rule of the declared schema%(where)s."),
    "required-value": NP_(
        "%(count)s required cell is empty%(where)s.",
        "%(count)s required cells are empty%(where)s."),
    "unique-error": NP_(
        "%(count)s value repeats in a column that should hold unique ones%(where)s.",
        "%(count)s values repeat in a column that should hold unique ones%(where)s."),
    "primary-key": NP_(
        "%(count)s row repeats another row's primary key%(where)s.",
        "%(count)s rows repeat another row's primary key%(where)s."),
    "foreign-key": NP_(
        "%(count)s row points to values missing from the reference table%(where)s.",
        "%(count)s rows point to values missing from the reference table%(where)s."),
    "row-constraint": NP_(
        "%(count)s row breaks a rule between columns%(where)s.",
        "%(count)s rows break a rule between columns%(where)s."),
    "forbidden-value": NP_(
        "%(count)s cell holds a forbidden value%(where)s.",
        "%(count)s cells hold a forbidden value%(where)s."),
    "sequential-value": NP_(
        "%(count)s cell breaks a sequence that should be continuous%(where)s.",
        "%(count)s cells break a sequence that should be continuous%(where)s."),
    "deviated-value": NP_(
        "%(count)s value is far from the rest of its column%(where)s.",
        "%(count)s values are far from the rest of their column%(where)s."),
    "deviated-cell": NP_(
        "%(count)s cell is much longer than the others of its column%(where)s.",
        "%(count)s cells are much longer than the others of their column%(where)s."),
    "truncated-value": NP_(
        "%(count)s cell looks cut off (it stops right at a maximum length)%(where)s.",
        "%(count)s cells look cut off (they stop right at a maximum length)%(where)s."),
    "ascii-value": NP_(
        "%(count)s cell holds characters outside ASCII%(where)s.",
        "%(count)s cells hold characters outside ASCII%(where)s."),
    "encoding-error": N_("The file has bytes that cannot be read in its encoding%(where)s."),
    "compression-error": N_("The compressed file could not be decompressed."),
    "format-error": N_("The file is not in the format it claims."),
    "scheme-error": N_("The file could not be opened because of the form of its address."),
    "source-error": N_("The file's content could not be read as a table."),
    "table-error": N_("The table could not be read%(where)s."),
    "table-dimensions": N_("The table does not have the expected rows or columns."),
    "byte-count": N_("The file does not have the declared size (it may be damaged)."),
    "hash-count": N_("The file does not have the declared hash (it may be damaged)."),
    "field-count": N_("The table does not have the declared number of columns."),
    "row-count": N_("The table does not have the declared number of rows."),
    "validation-error": N_("The validation could not finish%(where)s."),
    # Frictionless's errors about its own inputs (a descriptor, a schema, a pipeline): the harvester gives it
    # none of these, but a report may still carry one.
    "error": N_("The validation found a problem in its own configuration (general error)%(where)s."),
    "catalog-error": N_("The validation found a problem in its own configuration (catalog)%(where)s."),
    "check-error": N_("The validation found a problem in its own configuration (check)%(where)s."),
    "checklist-error": N_("The validation found a problem in its own configuration (checklist)%(where)s."),
    "control-error": N_("The validation found a problem in its own configuration (control)%(where)s."),
    "data-error": N_("The validation found a problem in its own configuration (data)%(where)s."),
    "dataset-error": N_("The validation found a problem in its own configuration (dataset)%(where)s."),
    "detector-error": N_("The validation found a problem in its own configuration (detector)%(where)s."),
    "dialect-error": N_("The validation found a problem in its own configuration (CSV dialect)%(where)s."),
    "field-error": N_("The validation found a problem in its own configuration (field)%(where)s."),
    "file-error": N_("The validation found a problem in its own configuration (file)%(where)s."),
    "inquiry-error": N_("The validation found a problem in its own configuration (inquiry)%(where)s."),
    "inquiry-task-error": N_("The validation found a problem in its own configuration (inquiry task)%(where)s."),
    "metadata-error": N_("The validation found a problem in its own configuration (metadata)%(where)s."),
    "package-error": N_("The validation found a problem in its own configuration (package)%(where)s."),
    "pipeline-error": N_("The validation found a problem in its own configuration (pipeline)%(where)s."),
    "report-error": N_("The validation found a problem in its own configuration (report)%(where)s."),
    "report-task-error": N_("The validation found a problem in its own configuration (report task)%(where)s."),
    "resource-error": N_("The validation found a problem in its own configuration (resource)%(where)s."),
    "schema-error": N_("The validation found a problem in its own configuration (schema)%(where)s."),
    "stats-error": N_("The validation found a problem in its own configuration (stats)%(where)s."),
    "step-error": N_("The validation found a problem in its own configuration (step)%(where)s."),
}

ALERTS: dict[str, Message] = {
    Alert.ALL_MISSING: N_("Column `%(column)s`: it holds no value at all."),
    Alert.CONSTANT: N_("Column `%(column)s`: every row holds the same value%(detail)s."),
    Alert.PLACEHOLDER_MISSING: N_(
        "Column `%(column)s`: the portal writes missing data as a filler text (%(detail)s); in the pack they are "
        "nulls."),
    Alert.DECIMAL_COMMA: N_("Column `%(column)s`: it uses a decimal comma (`12,5`)."),
    Alert.MIXED_DATE_FORMATS: N_(
        "Column `%(column)s`: it mixes ISO dates (`2023-01-05`) with day/month/year dates (`05/01/2023`)."),
    Alert.MOJIBAKE: N_(
        "Column `%(column)s`: some values have accents garbled by a wrong encoding (`CuauhtÃ©moc` for "
        "`Cuauhtémoc`)."),
    Alert.ACCENTS_LOST: N_(
        "Column `%(column)s`: the portal already lost the accents of some values (`R?o`, `Jos�`); they cannot be "
        "recovered."),
    Alert.MOJIBAKE_NAME: N_("Column `%(column)s`: its name came with a garbled encoding («%(original)s»)."),
    Alert.HIGH_CARDINALITY: N_(
        "Column `%(column)s`: nearly every row holds a different value (an identifier or free text, not a "
        "category)."),
    Alert.CATEGORY_SPELLINGS: N_("Column `%(column)s`: one category is written several ways%(detail)s."),
    Alert.SIBLING_COLUMNS_DIFFER: N_(
        "Column `%(column)s`: other files of the same dataset do not have it%(detail)s."),
    Alert.UNREADABLE: N_("The table could not be read to describe its columns."),
}

def alert_detail(alert: str, profile: Any, placeholders: dict[str, int] | None = None) -> str:
    """The part of an alert's sentence that names values (a ColumnProfile's): the placeholders' spellings (or
    their count), a category's spellings, the constant value, the sibling files that lack the column."""
    if profile is None:
        return ""
    if alert == Alert.PLACEHOLDER_MISSING:
        spelled = placeholders if placeholders is not None else dict(profile.placeholder_spellings)
        return ", ".join(f"`{k}`" for k in spelled) or f"{profile.placeholders or 0:,}"
    if alert == Alert.CATEGORY_SPELLINGS and profile.spellings:
        return ": " + "; ".join(" / ".join(f"«{s}»" for s in group) for group in profile.spellings[:3])
    if alert == Alert.CONSTANT and profile.top_values:
        return f" («{profile.top_values[0][0]}»)"
    if alert == Alert.SIBLING_COLUMNS_DIFFER and profile.sibling_missing_in:
        return " (" + ", ".join(profile.sibling_missing_in[:3]) + ")"
    return ""


def alert_sentence(alert: str, profile: Any, lang: Language) -> str:
    """A column's alert as one sentence in `lang`, with the values that raised it (the site's dataset pages)."""
    message = ALERTS.get(alert)
    if message is None:
        return ""
    return sentence(message, lang, profile.name, None, {"detail": alert_detail(alert, profile),
                                                         "original": profile.name})


@dataclass(frozen=True)
class Note:
    """One explained fact about a table: its code, the column it is about (if any), the sentences."""

    kind: str
    """change, validation or alert."""
    code: str
    column: str | None
    es: str
    en: str
    count: int | None = None
    file: str | None = None
    """In a stacked table: the file the note is about."""

    def as_dict(self) -> dict[str, Any]:
        data = {"code": self.code, "file": self.file, "column": self.column, "count": self.count, "es": self.es,
                "en": self.en}
        return {k: v for k, v in data.items() if v is not None}


TEMPLATES = {"change": CHANGES, "validation": VALIDATION, "alert": ALERTS}


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def note(kind: str, code: str, column: str | None = None, count: int | None = None, **values: Any) -> Note:
    """The note for `code` of this kind, its message filled with `column`, `count` and `values` in Spanish and
    in English (a value not given is left empty, so `where` and `detail` are optional)."""
    message = TEMPLATES[kind][code]
    es, en = (sentence(message, lang, column, count, values) for lang in LANGUAGES)
    return Note(kind=kind, code=code, column=column, es=es, en=en, count=count)


def sentence(message: Message, lang: Language, column: str | None, count: int | None,
             values: dict[str, Any]) -> str:
    """A note's message in `lang`, filled: `count` in the language's digits (and the form its number takes:
    `1 fila`, `3 filas`), `x_en` as `x` in English."""
    fields = _Blank({k: v for k, v in values.items() if not k.endswith("_en")}, column=column or "",
                    count=format_number(count, lang) if count is not None else "")
    if lang == "en":
        fields.update({k[:-3]: v for k, v in values.items() if k.endswith("_en")})
    chosen = translations(lang)
    if isinstance(message, tuple):
        return chosen.ngettext(*message, 2 if count is None else count) % fields
    return chosen.gettext(message) % fields


def rows_where(rows: list[int], fields: list[str]) -> tuple[str, str]:
    """`where` and `where_en` of a validation note: the first rows and columns it was seen in."""
    shown = sorted(set(rows))[:5]
    names = list(dict.fromkeys(f for f in fields if f))[:3]
    es, en = (_where(shown, names, lang) for lang in LANGUAGES)
    return es, en


def _where(rows: list[int], names: list[str], lang: Language) -> str:
    chosen = translations(lang)
    parts = []
    if rows:
        listed = ", ".join(str(r) for r in rows)  # row numbers, not amounts: no separators
        parts.append(chosen.ngettext("row %(rows)s", "rows %(rows)s", len(rows)) % {"rows": listed})
    if names:
        listed = ", ".join(f"«{n}»" for n in names)
        parts.append(chosen.ngettext("column %(columns)s", "columns %(columns)s", len(names)) % {"columns": listed})
    if not parts:
        return ""
    return " (" + chosen.gettext("for example: %(where)s") % {"where": "; ".join(parts)} + ")"
