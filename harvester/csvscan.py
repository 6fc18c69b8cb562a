"""The CSV scan that validate, profile and pack share: DuckDB's `read_csv` over a header we give it (its
sniffer fails, or finds one column, on ragged rows), the cell patterns a column is inferred and converted
with, and a UTF-8 copy of a file in another encoding (DuckDB reads only UTF-8, UTF-16 and Latin-1).

The reading rules (`reading_counts`, `decide_readings`, `typed_sql`) are how profile and pack agree on a
column's type: the profile counts, per column, how many cells each written form reads as, and the column
takes the one type every value (placeholders aside) has, else stays text; the pack counts again over the
same bytes and converts with the same rule, so no value becomes null unless it is a placeholder. The forms:

- numbers: plain (`1518`, `-11.`, `1e5`); thousands separators (`1,306,521.00`, `1,234`: commas before
  groups of exactly three digits, at most one point after them); decimal comma (`11657123,2`). A column
  holding `1,306,521.00` or `3.5` reads its commas as thousands, one holding `1,5` as decimals; both is text;
  a column of `1,234` only follows the file's other columns, else stays text. Integer when no cell has a
  fraction.
- dates: ISO `2020-06-05`; `5/6/2020` and `5-6-2020` (day first, the Mexican custom, unless a second part
  above 12 shows month first, or the file's other columns decided); Spanish month names and abbreviations,
  any case, with or without accents and dots: `30-Abr-07`, `01/Ene/2019`, `5 de junio de 2020`, `Sep`,
  `Sept`, `Set`. Two-digit years pivot as POSIX's `%y`: 00-68 are 2000-2068, 69-99 are 1969-1999.
- timestamps: ISO (`2016-05-13 19:41`, `T` or space, seconds and microseconds optional, no time zone);
  compact ISO `20160513T1941`; `1/13/2014 12:00:00 AM` with `AM`, `p.m.`, `a. m.` or a 24-hour clock.
  Day or month first is decided from the column (a first part above 12 somewhere: day first; a second one:
  month first), else the file's other columns, else the column stays text.
- times of day with AM/PM (`7:05 p. m.`); plain `HH:MM:SS` stays text, since it is as often a duration
  (`294:25:32`, `12d 06:25:32` are never times).
- geo: GeoJSON geometries (`{"type": "LineString", "coordinates": [...]}`) and points `19.43,-99.15` or
  `[19.43, -99.15]`, kept as text byte for byte; a point's order (lat,lon or lon,lat) is read from which
  number goes beyond 90.

A column a `<table file>.schema.json` declares `string` (the extractor's Table Schema for DBF character
fields and workbook text cells) is text whatever it holds (`declared_strings`)."""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import tempfile
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import duckdb

from harvester.encoding import transcode_to_utf8
from harvester.sql import ident as _ident, literal as _lit

PLACEHOLDERS = ("nan", "n/d", "na", "n/a", "-", "s/d", "null", "none", "s/n", "sin datos", "se desconoce",
                "no identificado", "-9999", "\u2013")
PLACEHOLDER_SPELLINGS = sorted({form for p in PLACEHOLDERS for form in (p, p.upper(), p.capitalize(), p.title())}
                               | {"NaN"})
"""The cells that stand for a missing value, as spelled in the files: a pack turns only these into null."""
PLACEHOLDER_LIST = "[" + ", ".join(_lit(p) for p in PLACEHOLDER_SPELLINGS) + "]"
"""SQL: the spellings as one list (DuckDB binds one list faster than a long IN)."""
INTEGER_TEXT = "[+-]?[0-9]{1,18}"
"""What a cell must look like to count (and be converted) as an integer: DuckDB casts 19.4 to BIGINT."""
UTF8 = ("utf-8", "utf-8-sig")
LATIN_1 = "latin-1"
"""The one other encoding DuckDB reads itself (`encoding='latin-1'`), when the file has no byte 0x80-0x9F."""


def iso_date_sql(v: str) -> str:
    """SQL: the cell as a DATE when it looks like YYYY-MM-DD (DuckDB's parsers are slow on other text)."""
    return f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST({v} AS DATE) END"


def dmy_date_sql(v: str) -> str:
    """SQL: the cell as a DATE when it looks like DD/MM/YYYY."""
    return f"CASE WHEN regexp_full_match({v}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') " \
           f"THEN try_strptime({v}, '%d/%m/%Y')::DATE END"


def header_names(path: Path, delimiter: str, header_row: int, encoding: str = "utf-8-sig") -> list[str]:
    """The header's cells as unique column names (a blank one becomes column_<n>, a repeat name_<n>)."""
    with path.open(encoding=encoding, newline="") as handle:
        row = next(itertools.islice(csv.reader(handle, delimiter=delimiter), header_row - 1, None), [])
    names: list[str] = []
    for number, cell in enumerate(row, 1):
        name = cell.strip() or f"column_{number}"
        names.append(name if name not in names else f"{name}_{number}")
    return names


def read_csv_sql(path: Path, delimiter: str, header_row: int, columns: list[str], *, lenient: bool = True,
                 options: str = "") -> str:
    """SQL: `read_csv` of a UTF-8 file's rows after its header, every column VARCHAR and named by us.

    `lenient` pads short rows with nulls and drops malformed ones (profile, pack); the validator's scan
    turns it off and asks for the rejects instead, in `options`. The lenient scan is not parallel: DuckDB's
    parallel scanner refuses null padding on a file whose quoted cells hold line breaks (JSON tables, survey
    answers), and the whole file would be unreadable; a caller that falls back on that error may ask for
    `parallel=true` in `options`."""
    spec = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns) + "}"
    extra = ", null_padding=true, ignore_errors=true" if lenient else ""
    if lenient and "parallel=" not in options:
        extra += ", parallel=false"
    return (f"read_csv({_lit(str(path))}, delim={_lit(delimiter)}, quote='\"', escape='\"', header=false, "
            f"skip={header_row}, auto_detect=false, columns={spec}{extra}{', ' + options if options else ''})")


@contextmanager
def utf8_copy(path: Path, encoding: str, *, folder: Path | None = None) -> Iterator[Path]:
    """`path` itself when it is UTF-8, else a UTF-8 copy beside it (or in `folder`), removed afterwards."""
    if encoding in UTF8:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".csv", prefix=".utf8-", dir=folder or path.parent) as copy:
        with path.open("rb") as source:
            transcode_to_utf8(source, copy, encoding)
        copy.flush()
        yield Path(copy.name)


# Reading rules ------------------------------------------------------------------------------------------

NUMBER_TEXT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
"""A plain number: `1518`, `-11.`, `.5`, `1e5` (not `1_000`, `0x10`, `inf`, which DuckDB would also read)."""
THOUSANDS_TEXT = r"[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]+)?"
THOUSANDS_INTEGER = r"[+-]?[1-9][0-9]{0,2}(,[0-9]{3}){1,5}"
"""Whole numbers with thousands separators, up to 18 digits like INTEGER_TEXT."""
DECIMAL_COMMA_TEXT = r"[+-]?[0-9]*,[0-9]+"
EITHER_COMMA = r"[+-]?[1-9][0-9]{0,2},[0-9]{3}"
"""`1,234`: a thousand and some, or one and a fraction: the column, or the file, decides."""
LEADING_ZERO = "[+-]?0[0-9]+([.,][0-9]*)?"
"""A number written with a leading zero: a code ('06470', '008'), to be kept as text."""
MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
MONTH_WORDS = ("enero|ene|febrero|feb|marzo|mar|abril|abr|mayo|may|junio|jun|julio|jul|agosto|ago|"
               "septiembre|setiembre|sept|sep|set|octubre|oct|noviembre|nov|diciembre|dic")
SPANISH_DATE = rf"([0-9]{{1,2}})(?:[-/ ]|\s+de\s+)({MONTH_WORDS})\.?(?:[-/ ]|\s+del?\s+)([0-9]{{4}}|[0-9]{{2}})"
"""On lower-case text without accents: `30-abr-07`, `01/ene/2019`, `5 de junio de 2020`, `1 sept. 2020`."""
YEAR_PIVOT = 68
"""Two-digit years up to this are 20xx, later ones 19xx (POSIX `%y`)."""
NUMERIC_DATE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}"
CLOCK = r"([0-9]{1,2}):([0-5][0-9])(?::([0-5][0-9])(\.[0-9]{1,6})?)?"
MERIDIEM = r"\s*([ap])\.?\s*m\.?"
NUMERIC_TIMESTAMP = rf"([0-9]{{1,2}})[/-]([0-9]{{1,2}})[/-]([0-9]{{4}})[ T]+{CLOCK}(?:{MERIDIEM})?"
ISO_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
COMPACT_TIMESTAMP = r"([0-9]{4})([0-9]{2})([0-9]{2})T([01][0-9]|2[0-3])([0-5][0-9])([0-5][0-9])?"
TIME_OF_DAY = rf"{CLOCK}{MERIDIEM}"
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
POSITION_3D = r"\[[^\[\]]*,[^\[\]]*,[^\[\]]*\]"
"""An innermost array of three numbers or more: a position with an altitude (`[-99.18, 19.42, 0.0]`)."""
POINT_TEXT = r"([+-]?[0-9]{1,3}\.[0-9]+)\s*,\s*([+-]?[0-9]{1,3}\.[0-9]+)"
POINT_ARRAY = r"\[\s*([+-]?[0-9]{1,3}(?:\.[0-9]+)?)\s*,\s*([+-]?[0-9]{1,3}(?:\.[0-9]+)?)\s*\]"
COUNTS = ("present", "zero", "int", "num", "dot", "tonly", "either", "donly", "tint", "iso", "numd", "dmy", "mdy",
          "es", "isots", "cts", "nts", "dmyts", "mdyts", "tod", "geojson", "geo3d", "ptext", "parray", "big1", "big2")
"""What `reading_counts` counts per column: cells present (placeholders aside) and those each form reads."""


@dataclass(frozen=True)
class Reading:
    """How a column is read: its type (integer, number, date, timestamp, time, geojson, geopoint, string,
    empty) and, where it matters, the form: `thousands` or `decimal_comma` for numbers, `dmy` or `mdy` for
    dates and timestamps, `lat_lon`, `lon_lat` or `unknown` (the order) plus `_array` for points, `3d`
    for GeoJSON whose positions carry an altitude."""

    type: str
    form: str = ""


READING_RULES = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
"""The version of these rules: the hash of this module. A profile keeps it with each column's reading, so a
pack reuses that reading (instead of counting again) only when the same rules decided it."""

CONVERTED = ("integer", "number", "date", "timestamp", "time")
"""The types a pack stores as other than the source's text."""


def kept_sql(v: str) -> str:
    """SQL: the trimmed cell, NULL when empty or a declared placeholder."""
    return f"CASE WHEN list_contains({PLACEHOLDER_LIST}, trim({v})) THEN NULL ELSE nullif(trim({v}), '') END"


def _match(v: str, pattern: str) -> str:
    return f"regexp_full_match({v}, {_lit(pattern)})"


def _lower(v: str) -> str:
    """Lower case, no accents, no-break spaces as spaces: what the Spanish forms are matched on."""
    return f"lower(strip_accents(replace({v}, chr(160), ' ')))"


def _group(v: str, pattern: str, n: int) -> str:
    return f"regexp_extract({v}, {_lit(pattern)}, {n})"


def plain_number_sql(v: str) -> str:
    return f"CASE WHEN {_match(v, NUMBER_TEXT)} AND isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"


def thousands_sql(v: str) -> str:
    return f"CASE WHEN {_match(v, THOUSANDS_TEXT)} THEN TRY_CAST(replace({v}, ',', '') AS DOUBLE) END"


def decimal_comma_sql(v: str) -> str:
    return f"CASE WHEN {_match(v, DECIMAL_COMMA_TEXT)} THEN TRY_CAST(replace({v}, ',', '.') AS DOUBLE) END"


def numeric_date_sql(v: str, order: str) -> str:
    """SQL: `5/6/2020` or `5-6-2020` as a DATE, day first (`dmy`) or month first (`mdy`)."""
    swap = r"\3-\2-\1" if order == "dmy" else r"\3-\1-\2"
    return (f"CASE WHEN {_match(v, NUMERIC_DATE)} THEN TRY_CAST(regexp_replace({v}, "
            f"'^([0-9]+)[/-]([0-9]+)[/-]([0-9]+)$', {_lit(swap)}) AS DATE) END")


def _year(y: str) -> str:
    return f"(CASE WHEN length({y}) = 2 THEN (CASE WHEN {y}::INT <= {YEAR_PIVOT} THEN 2000 ELSE 1900 END) + {y}::INT " \
           f"ELSE {y}::INT END)"


def _let(value: str, name: str, body: str) -> str:
    """SQL: `body` with `name` bound to `value`, computed once (a one-element list's lambda): DuckDB would
    otherwise plan, and compile the patterns of, every repetition of a long expression."""
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def _extracted(low: str, pattern: str, groups: list[str], body: str) -> str:
    """SQL: `body` over `_rr_x`, the struct of `pattern`'s groups in `low`, when `low` matches it."""
    names = "[" + ", ".join(_lit(g) for g in groups) + "]"
    inner = _let(f"regexp_extract(_rr_l, {_lit(pattern)}, {names})", "_rr_x", body)
    return _let(low, "_rr_l", f"CASE WHEN {_match('_rr_l', pattern)} THEN {inner} END")


def spanish_date_sql(v: str) -> str:
    """SQL: `30-Abr-07`, `01/Ene/2019`, `5 de junio de 2020` as a DATE."""
    month = f"list_position({list(MONTHS)!r}, replace(left(_rr_x.m, 3), 'set', 'sep'))"
    iso = f"printf('%04d-%02d-%02d', {_year('_rr_x.y')}, {month}, _rr_x.d::INT)"
    return _extracted(_lower(v), SPANISH_DATE, ["d", "m", "y"], f"TRY_CAST({iso} AS DATE)")


def _hour24(hour: str, meridiem: str) -> str:
    """SQL: the hour on a 24-hour clock; NULL when it is none (13 p.m., 0 a.m., 24)."""
    return (f"(CASE WHEN {meridiem} = '' AND {hour}::INT <= 23 THEN {hour}::INT "
            f"WHEN {meridiem} <> '' AND {hour}::INT BETWEEN 1 AND 12 THEN {hour}::INT % 12 "
            f"+ (CASE WHEN {meridiem} = 'p' THEN 12 ELSE 0 END) END)")


CLOCK_GROUPS = ["h", "mi", "s", "f", "mer"]
CLOCK_TEXT = (f"printf('%02d:%s:%s%s', {_hour24('_rr_x.h', '_rr_x.mer')}, _rr_x.mi, "
              f"coalesce(nullif(_rr_x.s, ''), '00'), _rr_x.f)")
"""SQL: 'HH:MM:SS[.ffffff]' from the clock's groups (hour, minutes, seconds, fraction, meridiem)."""


def numeric_timestamp_sql(v: str, order: str) -> str:
    """SQL: `1/13/2014 12:00:00 AM`, `13/01/2014 19:30` as a TIMESTAMP, day or month first."""
    day, month = ("a", "b") if order == "dmy" else ("b", "a")
    text = f"_rr_x.y || '-' || _rr_x.{month} || '-' || _rr_x.{day} || ' ' || {CLOCK_TEXT}"
    return _extracted(_lower(v), NUMERIC_TIMESTAMP, ["a", "b", "y", *CLOCK_GROUPS], f"TRY_CAST({text} AS TIMESTAMP)")


def iso_timestamp_sql(v: str) -> str:
    return f"CASE WHEN {_match(v, ISO_TIMESTAMP)} THEN TRY_CAST({v} AS TIMESTAMP) END"


def compact_timestamp_sql(v: str) -> str:
    """SQL: `20160513T1941` (ISO 8601's basic format) as a TIMESTAMP."""
    iso = f"regexp_replace({v}, {_lit(COMPACT_TIMESTAMP)}, '\\1-\\2-\\3 \\4:\\5')"
    seconds = f"coalesce(nullif({_group(v, COMPACT_TIMESTAMP, 6)}, ''), '00')"
    return f"CASE WHEN {_match(v, COMPACT_TIMESTAMP)} THEN TRY_CAST({iso} || ':' || {seconds} AS TIMESTAMP) END"


def time_of_day_sql(v: str) -> str:
    """SQL: `7:05 p. m.`, `12:00:00 AM` as a TIME."""
    return _extracted(_lower(v), TIME_OF_DAY, CLOCK_GROUPS, f"TRY_CAST({CLOCK_TEXT} AS TIME)")


def geojson_sql(v: str) -> str:
    """SQL: whether the cell is a GeoJSON geometry (a type GeoJSON names and an array of coordinates)."""
    kinds = ", ".join(_lit(k) for k in GEOMETRIES)
    return (f"coalesce(CASE WHEN starts_with({v}, '{{') AND json_valid({v}) THEN json_extract_string({v}, '$.type') "
            f"IN ({kinds}) AND json_type({v}, '$.coordinates') = 'ARRAY' END, false)")


def _point_parts(v: str, pattern: str) -> tuple[str, str]:
    """SQL: a point's first and second number, NULL unless the cell is a point (`pattern`: POINT_TEXT or
    POINT_ARRAY, one comma between two numbers) and both are within ±180 and one within ±90. The numbers are
    the text on either side of the comma, the brackets trimmed (a cast skips the spaces): what the pattern's
    groups hold, without a regex extraction, the costliest part of counting a column of a million points."""
    inner = f"trim({v}, '[]')" if pattern == POINT_ARRAY else v
    pair = f"[TRY_CAST(split_part({inner}, ',', 1) AS DOUBLE), TRY_CAST(split_part({inner}, ',', 2) AS DOUBLE)]"
    ok = "abs(_rr_p[1]) <= 180 AND abs(_rr_p[2]) <= 180 AND least(abs(_rr_p[1]), abs(_rr_p[2])) <= 90"
    first, second = (f"CASE WHEN {_match(v, pattern)} THEN {_let(pair, '_rr_p', f'CASE WHEN {ok} THEN _rr_p[{n}] END')} END"
                     for n in (1, 2))
    return first, second


NUMBERISH = r"[-+0-9.,eE ]+"
"""What a cell of numbers, ISO dates or 'lat,lon' points is made of."""
FORM_STARTS = "0123456789+-.[{"
"""Every form starts with one of these: other text is no form, and its column is text at once."""


def _family(first: dict[str, int]) -> str:
    """Which forms can read every kept cell of a column, from the first pass: '' when none can."""
    n = first["present"]
    if not n or first["gated"] < n:
        return ""
    return ("number" if first["numberish"] >= n else "json" if first["braces"] >= n
            else "array" if first["brackets"] >= n else "dated")


Form = tuple[str | None, str | None]
"""A form's count as (value, condition): the cells where the condition holds and the value is not NULL
(None: every cell, or no condition)."""


def _family_forms(g: str, family: str) -> dict[str, Form]:
    """The forms of one family over a column's gated cells `g`, by COUNTS name. A condition may start with
    what the form's pattern needs (a comma, a dash, a colon) before the pattern itself: DuckDB tries the
    pattern only on the cells that have it."""
    comma, dash = f"contains({g}, ',')", f"contains({g}, '-')"
    if family == "number":
        a, b = _point_parts(g, POINT_TEXT)
        either = _match(g, EITHER_COMMA)
        return {"zero": (None, _match(g, LEADING_ZERO)), "int": (None, _match(g, INTEGER_TEXT)),
                "num": (plain_number_sql(g), None), "dot": (plain_number_sql(g), f"contains({g}, '.')"),
                "either": (None, f"{comma} AND {either}"),
                "tonly": (thousands_sql(g), f"{comma} AND NOT {either}"),
                "donly": (decimal_comma_sql(g), f"{comma} AND NOT {either}"),
                "tint": (None, f"{comma} AND {_match(g, THOUSANDS_INTEGER)}"),
                "iso": (iso_date_sql(g), dash), "ptext": (a, comma), "big1": (None, f"{comma} AND abs({a}) > 90"),
                "big2": (None, f"{comma} AND abs({b}) > 90")}
    if family == "json":
        return {"geojson": (None, geojson_sql(g)), "geo3d": (None, f"regexp_matches({g}, {_lit(POSITION_3D)})")}
    if family == "array":
        a, b = _point_parts(g, POINT_ARRAY)
        return {"parray": (a, None), "big1": (None, f"abs({a}) > 90"), "big2": (None, f"abs({b}) > 90")}
    clock = f"contains({g}, ':')"  # every timestamp but the ISO date alone, and every time of day, has one
    letters = f"regexp_matches({g}, '[^0-9/ -]')"  # a month's name: what a numeric date is not made of
    return {"iso": (iso_date_sql(g), dash), "numd": (None, _match(g, NUMERIC_DATE)),
            "dmy": (numeric_date_sql(g, "dmy"), None), "mdy": (numeric_date_sql(g, "mdy"), None),
            "es": (spanish_date_sql(g), letters), "isots": (iso_timestamp_sql(g), clock),
            "cts": (compact_timestamp_sql(g), None), "nts": (None, f"{clock} AND {_match(_lower(g), NUMERIC_TIMESTAMP)}"),
            "dmyts": (numeric_timestamp_sql(g, "dmy"), clock), "mdyts": (numeric_timestamp_sql(g, "mdy"), clock),
            "tod": (time_of_day_sql(g), clock)}


def _family_sql(g: str, family: str) -> dict[str, str]:
    """The counts of one family's forms over a column's gated cells `g` (SQL aggregates by COUNTS name)."""
    return {name: _count_sql(form) for name, form in _family_forms(g, family).items()}


def count_where(condition: str) -> str:
    """SQL: how many rows the condition holds for. Written as a CASE, whose AND DuckDB stops at the first
    false part (a FILTER clause computes every part on every row)."""
    return f"count(CASE WHEN {condition} THEN 1 END)"


def _count_sql(form: Form, weight: str | None = None) -> str:
    """SQL: the cells a form reads; with `weight`, over distinct values each standing for `weight` cells."""
    value, condition = form
    if weight is None:
        if value and condition:  # the value is computed only where the condition holds
            return f"count(CASE WHEN {condition} THEN {value} END)"
        return count_where(condition) if condition else f"count({value})"
    where = " AND ".join(x for x in (condition, f"{value} IS NOT NULL" if value else None) if x)
    return f"coalesce(sum(CASE WHEN {where} THEN {weight} END), 0)"


_BRACE, _BRACKET = ord("{"), ord("[")
FIRST_PASS = ("present", "gated", "numberish", "braces", "brackets")


def first_pass_sql(k: str, i: int) -> list[str]:
    """SQL aggregates over a column's kept cells `k`: cells kept, those that start as a form does, and of
    these the ones that look like numbers, or start with '{' or '[' (named `<count>_<i>`; the profile adds
    them to its own scan). Only a column whose every cell starts as a form has a family (`_family`), so the
    number pattern is tried on those cells alone."""
    gated = f"ord({k}) IN ({', '.join(str(ord(ch)) for ch in FORM_STARTS)})"  # the first character's code point
    return [f"count({k}) AS present_{i}", f"{count_where(gated)} AS gated_{i}",
            f"{count_where(f'{gated} AND {_match(k, NUMBERISH)}')} AS numberish_{i}",
            f"{count_where(f'ord({k}) = {_BRACE}')} AS braces_{i}",
            f"{count_where(f'ord({k}) = {_BRACKET}')} AS brackets_{i}"]


def first_counts(row: dict[str, int], columns: int) -> list[dict[str, int]]:
    """The first pass's counts per column, from a result row holding `first_pass_sql`'s columns."""
    return [{name: int(row[f"{name}_{i}"] or 0) for name in FIRST_PASS} for i in range(columns)]


def _first_pass(con: duckdb.DuckDBPyConnection, relation: str,
                columns: list[str]) -> tuple[list[dict[str, int]], list[int]]:
    """The first pass's counts per column, and an estimate of its distinct kept cells."""
    kept = ", ".join(f"{kept_sql(_ident(c))} AS k{i}" for i, c in enumerate(columns))
    parts = [sql for i in range(len(columns)) for sql in first_pass_sql(f"k{i}", i)]
    parts += [f"approx_count_distinct(k{i}) AS distinct_{i}" for i in range(len(columns))]
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT {kept} FROM {relation})").fetchone()
    found = dict(zip((d[0] for d in con.description), row))
    return first_counts(found, len(columns)), [int(found[f"distinct_{i}"] or 0) for i in range(len(columns))]


FAMILY_BATCH = 8
"""Columns counted in one query: DuckDB takes long to plan one query holding the forms of many columns."""
GROUPED_SHARE = 0.5
"""A column with at most this share of distinct values is counted over its distinct values, each weighed by
how often it occurs (every form is a function of the cell alone, so the counts are the same)."""


def reading_counts(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                   first: list[dict[str, int]] | None = None,
                   distinct: list[int] | None = None) -> list[dict[str, int]]:
    """Per column of `relation` (SQL: a table or a `read_csv`), how many cells each form reads (COUNTS).
    A first scan (or `first`, when the caller's own scan counted it) says which family of forms could read
    every cell of a column (numbers, dates and times, GeoJSON, point arrays); only that family's forms are
    counted, a few columns at a time, or over its distinct values for a column that has few (`distinct`,
    an estimate per column, when the caller has one)."""
    if not columns:
        return []
    if first is None:
        first, distinct = _first_pass(con, relation, columns)
    counts = [dict.fromkeys(COUNTS, 0) | {"present": f["present"]} for f in first]
    typed = [(i, _family(f)) for i, f in enumerate(first) if _family(f)]
    grouped = [(i, family) for i, family in typed
               if distinct is not None and distinct[i] <= first[i]["present"] * GROUPED_SHARE]
    for i, family in grouped:  # the cell is kept (trimmed, placeholders NULL) once per distinct value too
        forms = list(_family_forms("g", family).items())
        row = con.execute(f"SELECT {', '.join(_count_sql(form, 'w') for _, form in forms)} FROM "
                          f"(SELECT {kept_sql('v')} AS g, w FROM (SELECT {_ident(columns[i])} AS v, count(*) AS w "
                          f"FROM {relation} GROUP BY v)) WHERE g IS NOT NULL").fetchone()
        for (name, _), n in zip(forms, row):
            counts[i][name] = int(n or 0)
    rest = [pair for pair in typed if pair not in grouped]
    for start in range(0, len(rest), FAMILY_BATCH):
        batch = rest[start:start + FAMILY_BATCH]
        numbers = [i for i, family in batch if family == "number"]
        forms = [(i, name, sql) for i, family in batch for name, sql in _family_sql(f"g{i}", family).items()]
        plain = [count_where(sql) for i in numbers for sql in (f"p{i}", f"p{i} AND contains(k{i}, '.')")]
        # a number column's plain cells (p<i>) are counted by one pattern; its forms count the others (g<i>)
        kept = ", ".join(f"{kept_sql(_ident(columns[i]))} AS k{i}" for i, _ in batch)
        tested = ", ".join(["*"] + [f"{_match(f'k{i}', PLAIN_NUMBER)} AS p{i}" for i in numbers])
        cells = ", ".join(f"k{i}, p{i}, CASE WHEN p{i} THEN NULL ELSE k{i} END AS g{i}" if i in numbers
                          else f"k{i} AS g{i}" for i, _ in batch)
        row = con.execute(f"SELECT {', '.join([f'{sql} AS {name}_{i}' for i, name, sql in forms] + plain)} FROM "
                          f"(SELECT {cells} FROM (SELECT {tested} FROM (SELECT {kept} FROM {relation})))").fetchone()
        for (i, name, _), n in zip(forms, row):
            counts[i][name] = int(n or 0)
        for n, i in enumerate(numbers):  # what PLAIN_NUMBER says of a plain cell, added to the others' forms
            cells_plain, dotted = (int(x or 0) for x in row[len(forms) + 2 * n:len(forms) + 2 * n + 2])
            counts[i]["int"] += cells_plain - dotted
            counts[i]["num"] += cells_plain
            counts[i]["dot"] += dotted
    return counts


PLAIN_NUMBER = r"[+-]?(0|[1-9][0-9]{0,17})(\.[0-9]{1,15})?"
"""A number every form reads one way: digits without a leading zero (at most 18, INTEGER_TEXT's), at most one
point with digits after it; no comma, no exponent. Such a cell is `int` when it has no point, else `dot`; it is
always `num` (15 digits after the point stay finite) and never a leading zero, a comma form, an ISO date or a
point (each needs a comma, a dash between digits or a leading zero). Counted by this pattern alone, the plain
ids, amounts and coordinates most tables are made of skip the number family's dozen forms."""


def _number(c: dict[str, int]) -> Reading | None:
    """The column's number reading, `thousands?` or `decimal_comma?` when only the file can tell, or None."""
    n = c["present"]
    if c["int"] >= n:
        return Reading("integer")
    if c["num"] >= n:
        return Reading("number")
    thousands = c["num"] + c["tonly"] + c["either"] >= n and not c["donly"]
    decimal = c["num"] + c["donly"] + c["either"] >= n and not c["dot"] and not c["tonly"]
    if thousands and (c["tonly"] or c["dot"]):
        return Reading("integer" if c["int"] + c["tint"] >= n else "number", "thousands")
    if decimal and c["donly"]:
        return Reading("number", "decimal_comma")
    if thousands and decimal:
        return Reading("number", "comma?")
    return None


def _order(valid_dmy: int, valid_mdy: int, total: int) -> str:
    """`dmy`, `mdy`, `either` (every cell reads both ways) or '' (neither way reads every cell)."""
    dmy, mdy = valid_dmy >= total, valid_mdy >= total
    return "either" if dmy and mdy else "dmy" if dmy else "mdy" if mdy else ""


def _dated(c: dict[str, int]) -> Reading | None:
    n = c["present"]
    if c["iso"] + c["numd"] + c["es"] >= n:
        order = _order(c["dmy"], c["mdy"], c["numd"]) if c["numd"] else "none"
        if order:
            return Reading("date", {"either": "order?", "none": ""}.get(order, order))
    if c["isots"] + c["cts"] + c["nts"] >= n:
        order = _order(c["dmyts"], c["mdyts"], c["nts"]) if c["nts"] else "none"
        if order:
            return Reading("timestamp", {"either": "order?", "none": ""}.get(order, order))
    if c["tod"] >= n:
        return Reading("time")
    return None


def _geo(c: dict[str, int]) -> Reading | None:
    n = c["present"]
    if c["geojson"] >= n:
        return Reading("geojson", "3d" if c["geo3d"] else "")
    if c["ptext"] >= n or c["parray"] >= n:
        order = "lon_lat" if c["big1"] and not c["big2"] else "lat_lon" if c["big2"] and not c["big1"] else "unknown"
        return Reading("geopoint", order + ("_array" if c["parray"] >= n else ""))
    return None


def _reading(c: dict[str, int]) -> Reading:
    """One column's reading from its counts alone; a form ending in '?' waits for the file's other columns."""
    if not c["present"]:
        return Reading("empty")
    if c["zero"]:
        return Reading("string")
    return _number(c) or _dated(c) or _geo(c) or Reading("string")


def decide_readings(counts: list[dict[str, int]], declared: list[bool] | None = None) -> list[Reading]:
    """Every column's reading (see the module doc): a column declared text is text; one the column alone
    cannot decide (`1,234` only; `5/6/2020` only) follows the forms the file's other columns decided, and
    without one a number or a timestamp stays text, a date is read day first as before."""
    declared = declared or [False] * len(counts)
    first = [Reading("string") if d else _reading(c) for c, d in zip(counts, declared)]
    comma = {r.form for r in first if r.form in ("thousands", "decimal_comma")}
    order = {r.form for r in first if r.type in ("date", "timestamp") and r.form in ("dmy", "mdy")}
    decided = []
    for r, c in zip(first, counts):
        if r.form == "comma?":
            form = next(iter(comma)) if len(comma) == 1 else ""
            whole = form == "thousands" and c["int"] + c["tint"] >= c["present"]
            r = Reading("integer" if whole else "number", form) if form else Reading("string")
        elif r.form == "order?":
            hint = next(iter(order)) if len(order) == 1 else ("dmy" if r.type == "date" else "")
            r = Reading(r.type, hint) if hint else Reading("string")
        decided.append(r)
    return decided


def unconverted(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                readings: list[Reading]) -> set[int]:
    """The columns where a kept cell does not convert under its reading (none, if the counts and the
    conversions agree): the safety net that keeps such a column text rather than lose a value."""
    typed = [i for i, r in enumerate(readings) if r.type in CONVERTED]
    if not typed:
        return set()
    # asked again about the same table with the same readings (pack.py asks once per column), the answer
    # is the last one: a table is known by its catalog oid, new whenever it is created again, and its size
    key = (_table_identity(con, relation), tuple(columns), tuple(readings))
    last = _LAST_UNCONVERTED.get("answer")
    if key[0] is not None and last is not None and last[0]() is con and last[1] == key:
        return set(last[2])
    row = con.execute(f"SELECT {', '.join(f'count(k{i}) - count(t{i})' for i in typed)} FROM "
                      f"{typed_columns_sql(relation, columns, readings)}").fetchone()
    found = {i for i, missed in zip(typed, row) if missed}
    _LAST_UNCONVERTED["answer"] = (weakref.ref(con), key, frozenset(found))
    return found


_LAST_UNCONVERTED: dict[str, tuple[Any, tuple[Any, ...], frozenset[int]]] = {}


def _table_identity(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int] | None:
    """A table's catalog oid and row count estimate, when `relation` names a table; else None."""
    if not relation.isidentifier():
        return None
    found = con.execute("SELECT table_oid, estimated_size FROM duckdb_tables() WHERE table_name = ? "
                        "ORDER BY temporary DESC LIMIT 1", [relation]).fetchone()
    return (int(found[0]), int(found[1])) if found else None


def typed_columns_sql(relation: str, columns: list[str], readings: list[Reading]) -> str:
    """SQL: a subquery of the converted columns' kept cells `k<i>` and their values `t<i>` (each kept cell
    computed once: DuckDB plans a query slowly when the same long expression is repeated)."""
    typed = [i for i, r in enumerate(readings) if r.type in CONVERTED]
    kept = ", ".join(f"{kept_sql(_ident(columns[i]))} AS k{i}" for i in typed)
    values = ", ".join(f"k{i}, {typed_sql(f'k{i}', readings[i])} AS t{i}" for i in typed)
    return f"(SELECT {values} FROM (SELECT {kept} FROM {relation}))"


def typed_sql(v: str, reading: Reading) -> str:
    """SQL turning a kept cell (trimmed, placeholders NULL: `kept_sql`) into the reading's type. Only cells
    the reading counted are converted, so a column read this way loses none."""
    kind, form = reading.type, reading.form
    if kind == "integer":
        plain = f"WHEN {_match(v, INTEGER_TEXT)} THEN CAST({v} AS BIGINT)"
        grouped = f" WHEN {_match(v, THOUSANDS_INTEGER)} THEN CAST(replace({v}, ',', '') AS BIGINT)" \
            if form == "thousands" else ""
        return f"CASE {plain}{grouped} END"
    if kind == "number":
        other = {"thousands": thousands_sql(v), "decimal_comma": decimal_comma_sql(v)}.get(form)
        return f"coalesce({plain_number_sql(v)}, {other})" if other else plain_number_sql(v)
    if kind == "date":
        return f"coalesce({iso_date_sql(v)}, {numeric_date_sql(v, form or 'dmy')}, {spanish_date_sql(v)})"
    if kind == "timestamp":
        return f"coalesce({iso_timestamp_sql(v)}, {compact_timestamp_sql(v)}, {numeric_timestamp_sql(v, form or 'dmy')})"
    if kind == "time":
        return time_of_day_sql(v)
    return v


def verified_typed_sql(v: str, reading: Reading) -> str:
    """typed_sql for a column whose every kept cell is known to convert by its reading (the safety net,
    `unconverted` or the profile's `missed` count, found none left): the same values, without the patterns
    that only decide whether a cell converts. A cell that converts matches its pattern, so the cast alone
    gives what typed_sql gives (tests/test_reading_rules.py compares the two on every rule's cases)."""
    kind, form = reading.type, reading.form
    if kind == "integer":
        return f"TRY_CAST(replace({v}, ',', '') AS BIGINT)" if form == "thousands" else f"TRY_CAST({v} AS BIGINT)"
    if kind == "number":
        cell = {"thousands": f"replace({v}, ',', '')", "decimal_comma": f"replace({v}, ',', '.')"}.get(form, v)
        return f"TRY_CAST({cell} AS DOUBLE)"
    if kind == "date":
        # only a YYYY-MM-DD cell has its dashes there (the day-first and Spanish forms put them elsewhere)
        iso = f"CASE WHEN length({v}) = 10 AND {v}[5] = '-' AND {v}[8] = '-' THEN TRY_CAST({v} AS DATE) END"
        return f"coalesce({iso}, {numeric_date_sql(v, form or 'dmy')}, {spanish_date_sql(v)})"
    return typed_sql(v, reading)


def declared_strings(table: Path) -> frozenset[str]:
    """The columns `<table>.schema.json` (a Frictionless Table Schema beside the table file, written by the
    extractor) declares `string`; none when there is no such file. A file that is no Table Schema is a
    ValueError of one line naming it."""
    sidecar = table.with_name(table.name + ".schema.json")
    if not sidecar.is_file():
        return frozenset()
    try:
        fields = json.loads(sidecar.read_text(encoding="utf-8"))["fields"]
        return frozenset(str(f["name"]).strip() for f in fields if f.get("type") == "string")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{sidecar.name}: no es un Table Schema legible ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'sin detalle'}) / not a readable Table Schema")
