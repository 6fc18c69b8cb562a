"""One source table as a pack's Parquet file: its columns converted to the types the profile found, by the
rule the profile read each by (csvscan's reading rules), placeholders made null, its places keyed (places.py).

The file is read once, by one thread, into a temporary DuckDB table: its row groups, and so the Parquet
file's, are the same on every run (a parallel read fills them in an order that varies), and the COPY that
writes the Parquet file then runs on every thread and still gives the same bytes. The INEGI companions are
added to that table as columns (places.key_places in place), so the COPY stays a plain scan of it.

The readings come from the profile when it is the profile of these very bytes (the file's sha256) made by
these very rules (`csvscan.READING_RULES`): the profile counted them, checked that every kept cell converts
(its safety net) and kept each column's cells present and placeholder spellings, so the pack counts
nothing again. Otherwise (a profile from older rules, or none) the pack counts the readings itself, on
the same rules, and checks them the same way. Either way a column whose cells would not all convert stays
text: no value becomes null.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import duckdb

from harvester.colnames import snake
from harvester.csvscan import (PLACEHOLDER_LIST, READING_RULES, Reading, decide_readings, first_counts,
                               first_pass_sql, header_names, kept_sql, read_csv_sql, reading_counts, unconverted,
                               verified_typed_sql)
from harvester.model import ColumnProfile
from harvester.i18n import LANGUAGES, Language, N_, translations
from harvester.places import PlaceKeying, companions, describe_keying, key_places
from harvester.sql import ident as _q, literal as _lit

INEGI = "INEGI, Marco Geoestadístico 2023 (harvester/data/inegi_places.csv)"
READ_THREADS = max(1, min(4, os.cpu_count() or 1))
"""DuckDB threads for the scans and the COPY (their results do not depend on the number of threads)."""


@dataclass
class PackField:
    """A column of a pack's table: its clean name, the original one, the profile's type and profile."""

    name: str
    original: str
    type: str
    profile: ColumnProfile | None
    form: str = ""
    """How the source writes it (csvscan.Reading.form): `thousands`, `dmy`, `lat_lon`, ..."""
    has_nulls: bool | None = None
    """Whether the Parquet column has nulls (None: not counted yet)."""
    examples: list[str] = field(default_factory=list)
    placeholders: dict[str, int] = field(default_factory=dict)
    """The placeholder spellings in the source column (now nulls), with how many times each."""
    description: str | None = None
    """What the portal's dictionary (or DCAT `field` metadata) says the column is, in the portal's words."""
    value_labels: dict[str, str] = field(default_factory=dict)
    """A coded column's values and what each means, from the dictionary."""
    described_by: str | None = None
    """The dictionary (or `DCAT field`) the description and value labels come from."""
    keying: dict[str, Any] | None = None
    """For the INEGI key column: how it was keyed (harvester/places.py PlaceKeying.as_dict())."""
    place: dict[str, Any] | None = None
    """For a place column and its two INEGI companions: the keying their description tells (`keying_text`)."""
    companion: bool = False
    """An INEGI companion the pack added beside a place column (its key or official name), not the source's."""


ORDER_KEPT = "in_clause"
"""The DuckDB optimizer a pack's queries run without: it rewrites a test against a long constant list (the
placeholders' `list_contains`, an `IN` of many values) into a hash join, whose output order varies with its
threads, so a COPY through it shuffled a big table's row groups. Without it the test is made row by row, in
order. The pack's own connection is opened without it (pack.py); `in_row_order` for any other."""


def pack_connection(spill: Path) -> duckdb.DuckDBPyConnection:
    """The DuckDB a pack is built in: READ_THREADS threads for the counting scans and the COPY (the reads that
    fill a table take one, `one_thread`), DuckDB's own memory limit, spilling to `spill` beyond it, and the
    source's row order kept (ORDER_KEPT off)."""
    con = duckdb.connect()
    con.execute(f"SET threads = {READ_THREADS}")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = {_lit(str(spill))}")
    con.execute(f"SET disabled_optimizers = {_lit(ORDER_KEPT)}")
    return con


@contextmanager
def in_row_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Queries that keep the table's row order (ORDER_KEPT off meanwhile, unless it already was)."""
    ((before,),) = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()
    if ORDER_KEPT in before.split(","):
        yield
        return
    con.execute("SET disabled_optimizers = " + _lit(",".join(filter(None, [before, ORDER_KEPT]))))
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = {_lit(before)}")


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB thread: rows appended in file order, so the same row groups every time."""
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {READ_THREADS}")


def write_table(con: duckdb.DuckDBPyConnection, source: Path, delimiter: str, header_row: int,
                profiles: dict[str, ColumnProfile], target: Path,
                declared: frozenset[str] = frozenset(), text: frozenset[str] = frozenset(), *,
                state: str | None = None, sha256: str | None = None) -> list[PackField]:
    """One UTF-8 delimited table as zstd Parquet, each column converted to its profile's type with the rule
    the profile read it by, the columns named in `text` kept as the source's text; returns its fields. The
    profile's counts are reused when it profiled the file whose sha256 is `sha256` with these rules. A column
    naming alcaldías, municipios or states (or holding their keys) gets its INEGI companions after the
    source's columns (`state`: the catalog's state, for names several states share), kept as text with their
    leading zeros, the original column untouched."""
    names = header_names(source, delimiter, header_row)
    con.execute("DROP TABLE IF EXISTS packing")
    with one_thread(con):
        con.execute(f"CREATE TEMP TABLE packing AS SELECT * FROM {read_csv_sql(source, delimiter, header_row, names)}")
    try:
        keyings = key_places(con, "packing", None, state or None, in_place=True)
        with in_row_order(con):
            fields = _write_table(con, names, companions(keyings), profiles, target, declared, text, sha256)
    finally:
        con.execute("DROP TABLE IF EXISTS packing")
    _describe_keyings(fields, keyings)
    return fields


def _describe_keyings(fields: list[PackField], keyings: list[PlaceKeying]) -> None:
    """The place column and its companions keep their keying, so that the dictionary says (in each language,
    `keying_text`) how the places were keyed: share matched, values left unmatched."""
    by_original = {f.original: f for f in fields}
    for keying in keyings:
        said = keying.as_dict()
        for column in (keying.column, keying.key_column, keying.name_column):
            if column in by_original:
                by_original[column].place = said
        if keying.key_column in by_original:
            by_original[keying.key_column].keying = said


@dataclass(frozen=True)
class _Counted:
    """What the pack needs to know of each source column before writing it."""

    readings: list[Reading]
    present: list[int]
    """Cells neither empty nor a placeholder."""
    spelled: list[dict[str, int]]
    """The placeholder spellings and their counts."""


def profiled(profiles: dict[str, ColumnProfile], names: list[str], sha256: str | None, rows: int) -> _Counted | None:
    """The profile's counts, when it profiled these bytes (`sha256`, `rows`) with these rules and kept them."""
    if sha256 is None or len(set(names)) != len(names):
        return None
    kept = [profiles.get(n) for n in names]
    if any(p is None or p.rules != READING_RULES or p.source_sha256 != sha256 or p.present is None
           or p.position != i or p.rows != rows for i, p in enumerate(kept)):
        return None
    return _Counted([Reading(p.type, p.form) for p in kept if p], [p.present or 0 for p in kept if p],
                    [dict(p.placeholder_spellings) for p in kept if p])


def _counted(con: duckdb.DuckDBPyConnection, names: list[str], declared: frozenset[str]) -> _Counted:
    """The readings counted on the table `packing` and checked to convert every kept cell (csvscan)."""
    # one scan for the reading rules' first pass, the placeholders' spellings and the row count
    first_sql = [sql for i, n in enumerate(names) for sql in first_pass_sql(kept_sql(_q(n)), i)]
    spelled_sql = [f"histogram(trim({_q(n)})) FILTER (WHERE list_contains({PLACEHOLDER_LIST}, trim({_q(n)}))) "
                   f"AS spelled_{i}" for i, n in enumerate(names)]
    scanned = con.execute(f"SELECT {', '.join(['count(*) AS n_rows'] + first_sql + spelled_sql)} FROM packing").fetchone()
    scan = dict(zip((d[0] for d in con.description), scanned))
    first = first_counts(scan, len(names))
    found = decide_readings(reading_counts(con, "packing", names, first), [n in declared for n in names])
    missed = unconverted(con, "packing", names, found)  # one scan for every column
    return _Counted([Reading("string") if i in missed else r for i, r in enumerate(found)],
                    [first[i]["present"] for i in range(len(names))],
                    [scan[f"spelled_{i}"] or {} for i in range(len(names))])


def _reading(profile: ColumnProfile | None, found: Reading) -> Reading:
    """The reading a column is converted with: the one found in the source when its type is the profile's
    (the profile decided from the same bytes), else text, so no value can become null."""
    if profile is None or found.type != profile.type:
        return Reading("string")
    return found


def _write_table(con: duckdb.DuckDBPyConnection, names: list[str], added: list[str],
                 profiles: dict[str, ColumnProfile], target: Path, declared: frozenset[str],
                 text: frozenset[str], sha256: str | None) -> list[PackField]:
    """The table `packing` written: its source columns `names`, then the companion columns `added`."""
    ((rows,),) = con.execute("SELECT count(*) FROM packing").fetchall()
    counted = profiled(profiles, names, sha256, rows) or _counted(con, names, declared)
    taken: set[str] = set()
    fields, columns = [], []
    for position, (name, reading) in enumerate(zip(names, counted.readings), 1):
        profile = profiles.get(name)
        reading = Reading("string") if name in text else _reading(profile, reading)
        f = PackField(name=snake(name, taken, position), original=name, type=reading.type, profile=profile,
                      form=reading.form)
        spelled = counted.spelled[position - 1]
        f.placeholders = dict(sorted(spelled.items(), key=lambda kv: (-kv[1], kv[0])))
        # a cell is null in the Parquet file exactly where it is empty or a placeholder in the source
        f.has_nulls = counted.present[position - 1] < rows
        kept = kept_sql(_q(name)) if spelled else f"nullif(trim({_q(name)}), '')"
        fields.append(f)
        columns.append(f"{verified_typed_sql(kept, reading)} AS {_q(f.name)}")
    for position, name in enumerate(added, len(names) + 1):  # INEGI's keys and names: text, never a placeholder
        fields.append(PackField(name=snake(name, taken, position), original=name, type="string", profile=None,
                                companion=True))
        columns.append(f"{_q(name)} AS {_q(fields[-1].name)}")
    con.execute(f"COPY (SELECT {', '.join(columns)} FROM packing) TO {_lit(str(target))} "
                "(FORMAT parquet, COMPRESSION zstd)")
    return fields


FRICTIONLESS_TYPES = {"integer": "integer", "number": "number", "date": "date", "timestamp": "datetime",
                      "time": "time", "geojson": "geojson"}


WHY_LEFT_OUT = N_("rows DuckDB could not read as the header's columns (more cells than the header, or broken "
                  "quoting); the validation report lists them as errors")


def left_out_of(source_rows: int | None, written: int) -> dict[str, Any]:
    """What a pack must say when it holds fewer rows than the validated table: how many, and why (the Spanish
    text whole, ` / `, the English text whole, as a field's description)."""
    missing = (source_rows or 0) - written
    if missing <= 0:
        return {}
    return {"rows_left_out": missing,
            "why_left_out": BOTH.join(translations(lang).gettext(WHY_LEFT_OUT) for lang in LANGUAGES)}


POINT_LAT_LON = N_("Geographic point «%(written)s»: latitude first (Frictionless's geopoint wants longitude first).")
POINT_UNKNOWN = N_("Geographic point: whether latitude or longitude comes first is not known.")
GEOJSON_3D = N_("GeoJSON geometry with an altitude in its positions (Frictionless accepts positions of 2 numbers "
                "only).")
WHOLE_NUMBERS = N_("Whole numbers (int64 in the Parquet file), some missing.")
KEY_OF = N_("INEGI key of «%(column)s».")
NAME_OF = N_("INEGI official name of «%(column)s».")


def _geopoint(f: PackField) -> tuple[dict[str, Any], str | None]:
    """A column of points, kept as the source's text, and what its description says (a message). Frictionless's
    geopoint is longitude first ('lon, lat', or [lon, lat] with format 'array'); the portals' "lat,lon" points
    stay a string that says so."""
    array = f.form.endswith("_array")
    order = f.form.removesuffix("_array")
    if order == "lon_lat":
        return ({"type": "geopoint", "format": "array"} if array else {"type": "geopoint"}), None
    return {"type": "string"}, POINT_LAT_LON if order == "lat_lon" else POINT_UNKNOWN


def keying_text(f: PackField, lang: Language) -> str | None:
    """How a place column, or an INEGI companion of one, was keyed, wholly in `lang`, with its source; None for
    any other column."""
    if f.place is None:
        return None
    said = describe_keying(f.place, lang)
    role = {f.place["key_column"]: KEY_OF, f.place["name_column"]: NAME_OF}.get(f.original)
    if role is not None:
        said = translations(lang).gettext(role) % {"column": f.place["column"]} + " " + said
    return f"{said} ({INEGI})"


def pack_text(f: PackField, lang: Language) -> str:
    """What the pack itself says of a column (its places' keying, a point's order, an altitude, whole numbers
    declared a number), wholly in `lang`: "" when it says nothing."""
    _ = translations(lang).gettext
    said = [keying_text(f, lang) or ""]
    if f.type == "geopoint":
        message = _geopoint(f)[1]
        if message:
            said.append(_(message) % {"written": "[lat, lon]" if f.form.endswith("_array") else "lat,lon"})
    if f.type == "geojson" and f.form == "3d":
        said.append(_(GEOJSON_3D))
    if _declared_number(f):
        said.append(_(WHOLE_NUMBERS))
    return " ".join(s for s in said if s)


def _declared_number(f: PackField) -> bool:
    return FRICTIONLESS_TYPES.get(f.type) == "integer" and bool(f.has_nulls)


BOTH = " / "
"""Between the Spanish and the English text of a field's `description` in datapackage.json."""


def field_description(f: PackField) -> str | None:
    """A field's `description` in datapackage.json, one string (as Frictionless has it): the portal's
    description as the portal wrote it, with its source in parentheses (as the READMEs show it); then what the
    pack says of the column (`pack_text`), the Spanish text whole, ` / `, the English text whole. None when
    there is nothing to say."""
    portal = f"{f.description} ({f.described_by})" if f.description else ""
    es, en = (pack_text(f, lang) for lang in LANGUAGES)
    own = es if es == en else f"{es}{BOTH}{en}"
    return ". ".join(part for part in (portal, own) if part) or None


def field_descriptor(f: PackField) -> dict[str, Any]:
    kind = FRICTIONLESS_TYPES.get(f.type, "string")
    field = {"name": f.name, "type": kind, "title": f.original}
    if f.type == "geopoint":
        field.update(_geopoint(f)[0])
    if f.type == "geojson" and f.form == "3d":
        # RFC 7946 allows an altitude in a position; the GeoJSON profile Frictionless validates with does not
        field["type"] = "string"
    description = field_description(f)
    if description:
        field["description"] = description
    if f.value_labels:
        field["value_labels"] = dict(f.value_labels)
    if f.keying:
        field["inegi_keying"] = f.keying
    if _declared_number(f):
        # Frictionless reads Parquet through pandas, where an integer column with nulls turns to floats and NaN,
        # which its integer type refuses: the column stays int64 in the file and is declared a number here.
        field["type"] = "number"
    return field
