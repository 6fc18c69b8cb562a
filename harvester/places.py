"""Places that join: a column naming an alcaldía, a municipio or a state gets companion columns with its
INEGI key and official name, whatever the spelling.

The facts come from `harvester/data/inegi_places.csv` (INEGI, Marco Geoestadístico 2023: 32 states and
2,475 municipios; `scripts/derive-inegi-places` derives it from INEGI's DBFs), read and folded by
placenames.py. A pack builder calls

    keyings = key_places(con, "packing", None, state_hint="09", target="packing_places")

on a DuckDB relation and gets a new temporary table `packing_places` (with `in_place=True`, the table
`packing` itself gains the columns) with every original column as it was, in the same row order, plus per
keyed column `<col>_cve_mun` (names of municipios: five digits with
the state, `09015`), `<col>_cve_ent` (states) or `<col>_cvegeo` (key columns, padded), and
`<col>_nombre_oficial`; and one `PlaceKeying` per keyed column: rows, rows matched, share matched, the
ambiguous values (with the places they could be) and the unmatched ones (bounded lists with counts).

How a value is matched, distinct values only (never row by row), in DuckDB:
- folded in Python (`placenames.parse_place`): case, accents, punctuation, abbreviations (Gral., Cd., Sta., Sn.,
  Gpe., Ma., ...), prefixes (Alcaldía, Delegación, Del., Municipio de), a state suffix ('Cuauhtémoc,
  CDMX'), a mojibake repaired, and '?' or U+FFFD where an accent was lost (a one-letter wildcard);
- joined against the places' names: exact (tier 0), without a leading article or by a known alias such as
  'CDMX' (tier 1), by the short name of an 'X de Y' name such as 'Cuajimalpa' or 'Coahuila' (tier 2);
- a state column in the same table (or the value's own suffix) restricts the candidates to that state;
  else the state hint (the dataset's portal) is preferred when the name exists there;
- matched when one place is left at the best tier and, for a loose tier, no other place came up at all;
  several places left is *ambiguous*: no key is given, the candidates are listed. Never a guess;
- but a column whose every matched municipio (at least STATE_EVIDENCE distinct values) lies in one state is
  a column of that state: its ambiguous names are matched again with that state preferred ('Cuauhtémoc'
  among Iztapalapa and Coyoacán is 09015), and the keying says which values were read so
  (`state_from_values`, `resolved`). A national portal's table of the CDMX's alcaldías would otherwise leave
  four of its sixteen without a key (Cuauhtémoc, Benito Juárez, Álvaro Obregón and Venustiano Carranza are
  also municipios elsewhere).
"""
from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Iterable, Mapping

import duckdb

from harvester.csvscan import PLACEHOLDER_SPELLINGS
from harvester.i18n import N_, NP_, Language, format_number, format_percent, translations
from harvester.placenames import (MUNICIPIO_ALIASES, STATE_ALIASES, PlaceName, PlacesError, fold_text, key_digits,
                                  local_keys, parse_place, place_words, places, short_name, state_key, unarticled)
from harvester.sql import ident as _q

LISTED = 20
"""How many ambiguous, unmatched and approximate values a keying lists (the most frequent first)."""
SAMPLE_ROWS = 20_000
"""Rows sampled per relation to detect place columns."""
PLACES_TABLE = "__inegi_places"
ALIASES_TABLE = "__inegi_place_names"
NO_VALUE = frozenset(PLACEHOLDER_SPELLINGS) | {""}


class PlaceKind(StrEnum):
    """What a column holds: names of municipios (alcaldías), names of states, or INEGI keys."""

    MUNICIPIO = "municipio"
    ENTIDAD = "entidad"
    KEY = "key"


class PlaceLevel(StrEnum):
    """Which places a column's values are: municipios (keys of five digits) or states (two)."""

    MUNICIPIO = "municipio"
    ENTIDAD = "entidad"


@dataclass(frozen=True)
class PlaceColumn:
    """A column found to name or key places (`detect_place_columns`)."""

    name: str
    kind: PlaceKind
    level: PlaceLevel
    share: float
    """The share of the sampled rows with a value whose value is a place (matched or ambiguous)."""


@dataclass(frozen=True)
class PlaceValue:
    """A distinct value of a keyed column, with the rows holding it."""

    value: str
    rows: int
    state: str | None = None
    """The value of the row's state column, when the table has one."""
    candidates: tuple[str, ...] = ()
    """Ambiguous: the cvegeo of every place it could be. Approximate: the one key it was given."""


@dataclass(frozen=True)
class PlaceKeying:
    """What `key_places` did to one column."""

    column: str
    kind: PlaceKind
    level: PlaceLevel
    relation: str
    """The table holding the original columns and the companions."""
    key_column: str
    """`<col>_cve_mun`, `<col>_cve_ent` or `<col>_cvegeo`: the INEGI key as text, leading zeros kept."""
    name_column: str
    """`<col>_nombre_oficial`: INEGI's name of the place."""
    state_column: str | None
    """The table's state column used to tell same-named municipios apart, if any."""
    state_hint: str | None
    """The cve_ent of the hint that was given (the dataset's portal), if any."""
    rows: int
    rows_with_value: int
    """Rows whose cell is not empty nor a placeholder ('NA', 'N/D', ...)."""
    rows_matched: int
    rows_ambiguous: int
    share_matched: float | None
    """rows_matched / rows_with_value; None when no row has a value."""
    distinct_values: int
    distinct_matched: int
    ambiguous: tuple[PlaceValue, ...]
    ambiguous_count: int
    """Distinct ambiguous values (the list holds at most LISTED of them)."""
    unmatched: tuple[PlaceValue, ...]
    unmatched_count: int
    approximate: tuple[PlaceValue, ...]
    """Matched values that were not spelled as INEGI spells them nor a key (a lost accent, a short name,
    no article): the data dictionary can show them."""
    approximate_count: int
    state_from_values: str | None = None
    """The cve_ent of the one state every matched value lies in, when it told ambiguous names apart."""
    resolved: tuple[PlaceValue, ...] = ()
    """Values named in several states, keyed in `state_from_values` (candidates: the key they were given)."""
    resolved_count: int = 0

    @property
    def companion_columns(self) -> tuple[str, str]:
        return self.key_column, self.name_column

    def as_dict(self) -> dict[str, object]:
        """The keying as JSON (a pack's datapackage.json or `--json`): lists as lists, kinds as text."""
        return json.loads(json.dumps(asdict(self)))

    def describe(self, lang: Language) -> str:
        """One paragraph for a data dictionary, wholly in `lang` (`describe_keying` of `as_dict()`)."""
        return describe_keying(self.as_dict(), lang)


WHAT: dict[tuple[str, str], str] = {
    (PlaceKind.MUNICIPIO, PlaceLevel.MUNICIPIO): N_("municipio or alcaldía"),
    (PlaceKind.ENTIDAD, PlaceLevel.ENTIDAD): N_("state"),
    (PlaceKind.KEY, PlaceLevel.MUNICIPIO): N_("municipio key"),
    (PlaceKind.KEY, PlaceLevel.ENTIDAD): N_("state key"),
}
"""What a keyed column holds (its kind and level), as a keying's paragraph says it."""
MATCHED = NP_("«%(column)s» (%(what)s): %(key)s and %(name)s from INEGI (Marco Geoestadístico 2023); %(matched)s "
              "of %(with_value)s row with a value matches (%(share)s).",
              "«%(column)s» (%(what)s): %(key)s and %(name)s from INEGI (Marco Geoestadístico 2023); %(matched)s "
              "of %(with_value)s rows with a value match (%(share)s).")
RESOLVED = NP_("Named in several states, read in state %(state)s, where every other value of the column lies: "
               "%(values)s", "Named in several states, read in state %(state)s, where every other value of the "
               "column lies: %(values)s")
AMBIGUOUS = NP_("Ambiguous value, no key: %(values)s", "Ambiguous values, no key: %(values)s")
UNMATCHED = NP_("Value with no match: %(values)s", "Values with no match: %(values)s")
MORE = NP_("and %(more)s more value.", "and %(more)s more values.")


def describe_keying(keying: Mapping[str, Any], lang: Language) -> str:
    """What a keying (`PlaceKeying.as_dict()`, as a pack's field keeps it) did, in one paragraph wholly in
    `lang`: the companion columns, the rows matched and their share, the ambiguous and unmatched values.
    Counts and shares are written in the language's conventions; the values are the source's."""
    chosen = translations(lang)
    what = WHAT.get((keying["kind"], keying["level"]))
    share = "—" if keying["share_matched"] is None else format_percent(keying["share_matched"], lang, 1)
    text = chosen.ngettext(*MATCHED, keying["rows_with_value"]) % {
        "column": keying["column"], "what": chosen.gettext(what) if what else keying["kind"],
        "key": keying["key_column"], "name": keying["name_column"],
        "matched": format_number(keying["rows_matched"], lang),
        "with_value": format_number(keying["rows_with_value"], lang), "share": share}
    for message, values, count, candidates in (
            (RESOLVED, keying.get("resolved", ()), keying.get("resolved_count", 0), True),
            (AMBIGUOUS, keying["ambiguous"], keying["ambiguous_count"], True),
            (UNMATCHED, keying["unmatched"], keying["unmatched_count"], False)):
        if count:
            text += " " + chosen.ngettext(*message, count) % {
                "values": _listed(values, count, candidates, lang), "state": keying.get("state_from_values")}
    return text


def _listed(values: Iterable[Mapping[str, Any]], count: int, candidates: bool, lang: Language) -> str:
    """Values as a paragraph lists them: each with its state, its rows and (ambiguous ones) the places it could
    be; `and N more values.` for those the keying does not list."""
    parts = [f"{v['value']!r}" + (f" [{v['state']}]" if v.get("state") else "")
             + f" ({format_number(v['rows'], lang)}"
             + (": " + ", ".join(v["candidates"]) if candidates and v.get("candidates") else "") + ")"
             for v in values]
    more = count - len(parts)
    if more <= 0:
        return "; ".join(parts) + "."
    return "; ".join(parts) + "; " + translations(lang).ngettext(*MORE, more) % {
        "more": format_number(more, lang)}


@functools.cache
def _name_rows() -> dict[str, tuple[str, list]]:
    """Every name a place is matched by: (level, cvegeo, cve_ent, key, tier)."""
    rows: list[tuple[str, str, str, str, int]] = []
    for p in places():
        level = PlaceLevel.MUNICIPIO if p.cve_mun else PlaceLevel.ENTIDAD
        key = place_words(fold_text(p.name))
        names = {(key, 0), (unarticled(key), 1)}
        short = short_name(unarticled(key))
        if short:
            names.add((short, 2))
        aliases = STATE_ALIASES.get(p.cvegeo, []) if level == PlaceLevel.ENTIDAD else MUNICIPIO_ALIASES.get(p.cvegeo, [])
        names |= {(alias, 1) for alias in aliases}
        rows += [(str(level), p.cvegeo, p.cve_ent, k, tier) for k, tier in sorted(names)]
    columns = list(zip(*rows))
    return {"level": ("VARCHAR", list(columns[0])), "cvegeo": ("VARCHAR", list(columns[1])),
            "cve_ent": ("VARCHAR", list(columns[2])), "key": ("VARCHAR", list(columns[3])),
            "tier": ("TINYINT", list(columns[4]))}


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, tuple[str, list]]) -> None:
    """A temporary table of these columns ((DuckDB type, values) by name), from Python lists through
    parameters (no Arrow: building an Arrow table imports pandas, a quarter of a second)."""
    select = ", ".join(f"unnest(?::{kind}[]) AS {_q(column)}" for column, (kind, _) in columns.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}", [values for _, values in columns.values()])


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The places and their names as temporary tables of this connection (once)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    if PLACES_TABLE in present and ALIASES_TABLE in present:
        return
    facts = {"cvegeo": ("VARCHAR", [p.cvegeo for p in places()]), "cve_ent": ("VARCHAR", [p.cve_ent for p in places()]),
             "cve_mun": ("VARCHAR", [p.cve_mun for p in places()]), "nombre": ("VARCHAR", [p.name for p in places()])}
    for table, data in ((PLACES_TABLE, facts), (ALIASES_TABLE, _name_rows())):
        _temp_table(con, table, data)


# Matching ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Input:
    """One distinct value (with its row's state) to match."""

    level: PlaceLevel
    state: str | None
    hint: str | None
    p0: str | None = None
    p1: str | None = None
    wild: bool = False
    key: str | None = None
    """For key columns: the cvegeo the value stands for, to be checked."""


@dataclass(frozen=True)
class _Match:
    cvegeo: str | None
    candidates: tuple[str, ...]
    tier: int | None


def _name_input(parsed: PlaceName | None, level: PlaceLevel, state: str | None, hint: str | None) -> _Input | None:
    if parsed is None:
        return None
    state = parsed.state or state
    if level == PlaceLevel.ENTIDAD:
        state = None
    return _Input(level, state, hint, parsed.key, unarticled(parsed.key), parsed.lost_letters)


def _key_input(text: str, level: PlaceLevel, geo: bool, state: str | None) -> _Input | None:
    """The cvegeo a key stands for: 'cvegeo' columns hold states (two digits or less) and municipios (four
    or five); municipio columns municipios, with the row's state when three digits or less; state columns
    states."""
    digits = key_digits(text)
    if digits is None:
        return None
    n = len(digits.lstrip("0") or "0")
    if level == PlaceLevel.ENTIDAD or (geo and n <= 2 and len(digits) <= 2):
        key = digits.zfill(2) if n <= 2 else None
    elif n >= 4 or len(digits) == 5:
        key = digits.zfill(5)
    elif geo:
        key = None
    else:
        key = state + digits.zfill(3) if state else None
    return _Input(level, None, None, key=key or "")


MATCH_SQL = """
WITH cand AS (
    SELECT i.id, a.cvegeo, a.cve_ent, a.tier FROM {inputs} i JOIN {names} a
      ON a.level = i.level AND a.tier = 0 AND NOT i.wild AND a.key = i.p0
    UNION ALL
    SELECT i.id, a.cvegeo, a.cve_ent, a.tier FROM {inputs} i JOIN {names} a
      ON a.level = i.level AND a.tier > 0 AND NOT i.wild AND a.key = i.p1
    UNION ALL
    SELECT i.id, a.cvegeo, a.cve_ent, a.tier FROM {inputs} i JOIN {names} a
      ON a.level = i.level AND a.tier = 0 AND i.wild AND length(a.key) = length(i.p0) AND a.key LIKE i.p0
    UNION ALL
    SELECT i.id, a.cvegeo, a.cve_ent, a.tier FROM {inputs} i JOIN {names} a
      ON a.level = i.level AND a.tier > 0 AND i.wild AND length(a.key) = length(i.p1) AND a.key LIKE i.p1
    UNION ALL
    SELECT i.id, p.cvegeo, p.cve_ent, 0::TINYINT FROM {inputs} i JOIN {places} p ON p.cvegeo = i.key
),
scoped AS (
    SELECT c.id, c.cvegeo, min(c.tier) AS tier, any_value(c.cve_ent = i.hint) AS in_hint
    FROM cand c JOIN {inputs} i ON i.id = c.id
    WHERE i.state IS NULL OR c.cve_ent = i.state
    GROUP BY c.id, c.cvegeo
),
hinted AS (
    SELECT *, coalesce(bool_or(in_hint) OVER (PARTITION BY id), false) AS any_hint FROM scoped
),
ranked AS (
    SELECT id, cvegeo, tier, min(tier) OVER (PARTITION BY id) AS best, count(*) OVER (PARTITION BY id) AS n_all
    FROM hinted WHERE NOT any_hint OR in_hint
)
SELECT id,
       CASE WHEN count(*) FILTER (WHERE tier = best) = 1 AND (min(best) = 0 OR min(n_all) = 1)
            THEN min(cvegeo) FILTER (WHERE tier = best) END AS cvegeo,
       list(cvegeo ORDER BY cvegeo) AS candidates,
       min(best) AS tier
FROM ranked GROUP BY id
"""


def _match(con: duckdb.DuckDBPyConnection, inputs: list[_Input | None]) -> list[_Match | None]:
    """Each input's place (None for a None input), matched in DuckDB in one query."""
    _ensure_tables(con)
    table = f"__places_inputs_{uuid.uuid4().hex[:12]}"
    kept = [(i, x) for i, x in enumerate(inputs) if x is not None]
    if not kept:
        return [None for _ in inputs]
    _temp_table(con, table, {
        "id": ("BIGINT", [i for i, _ in kept]), "level": ("VARCHAR", [str(x.level) for _, x in kept]),
        "state": ("VARCHAR", [x.state for _, x in kept]), "hint": ("VARCHAR", [x.hint for _, x in kept]),
        "p0": ("VARCHAR", [x.p0 for _, x in kept]), "p1": ("VARCHAR", [x.p1 for _, x in kept]),
        "wild": ("BOOLEAN", [x.wild for _, x in kept]), "key": ("VARCHAR", [x.key for _, x in kept])})
    try:
        found = con.execute(MATCH_SQL.format(inputs=table, names=ALIASES_TABLE, places=PLACES_TABLE)).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    matches: list[_Match | None] = [None if x is None else _Match(None, (), None) for x in inputs]
    for id_, cvegeo, candidates, tier in found:
        matches[id_] = _Match(cvegeo, tuple(candidates), tier)
    return matches


# Columns -----------------------------------------------------------------------------------------------

ENTIDAD_WORDS = frozenset({"entidad", "entidades", "estado", "edo", "ent", "state", "federativa"})
MUNICIPIO_WORDS = frozenset({"municipio", "municipios", "mun", "mpio", "alcaldia", "alcaldias", "delegacion",
                             "delegaciones", "demarcacion", "municipality", "nom_mun", "cve_mun"})
GEO_WORDS = frozenset({"cvegeo", "cve_geo", "clave_geo", "geocodigo", "cve_inegi", "clave_inegi", "nomgeo",
                       "inegi", "cvegeo_mun"})


def _name_words(name: str) -> set[str]:
    """A column name's words and word pairs: 'AlcaldiaHechos' -> {alcaldia, hechos, alcaldia_hechos}."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    words = re.sub(r"[^a-z0-9]+", " ", fold_text(split).replace("_", " ")).split()
    return set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:])} | {"".join(words)}


def _signal(name: str) -> PlaceLevel | str | None:
    """What a column's name says: a level, 'geo' (an INEGI key or name of either level) or nothing."""
    words = _name_words(name)
    ent, mun = bool(words & ENTIDAD_WORDS), bool(words & MUNICIPIO_WORDS)
    if words & GEO_WORDS or (ent and mun):
        return "geo"
    if mun:
        return PlaceLevel.MUNICIPIO
    if ent:
        return PlaceLevel.ENTIDAD
    return None


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _text(column: str) -> str:
    return f"CAST({_q(column)} AS VARCHAR)"


def _value_counts(con: duckdb.DuckDBPyConnection, relation: str, column: str, state: str | None = None) -> Counts:
    """(state value, value, rows) of each distinct pair, as text."""
    st = _text(state) if state else "NULL::VARCHAR"
    return [(s, v, n) for s, v, n in con.execute(
        f"SELECT {st} AS s, {_text(column)} AS v, count(*) FROM {relation} GROUP BY ALL").fetchall()]


def _sample(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A temporary table of about SAMPLE_ROWS rows of `relation` (all of them when fewer): one scan for every
    column's detection. Of a table, the rows whose rowid hashes to one residue (the same rows on every run
    and thread count, a third of a reservoir sample's time); of a view, a seeded reservoir sample."""
    table = f"__places_sample_{uuid.uuid4().hex[:12]}"
    if _kind_of(con, relation) == "table":
        ((rows,),) = con.execute(f"SELECT count(*) FROM {relation}").fetchall()
        every = -(-rows // SAMPLE_ROWS)
        chosen = f"WHERE hash(rowid + 13) % {every} = 0" if every > 1 else ""
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {relation} {chosen} ORDER BY rowid")
    else:
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {relation} "
                    f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (13)")
    return table


Counts = list[tuple[str | None, str | None, int]]
"""(state value, value, rows) of each distinct pair of a column (and the table's state column)."""


def _valued(counts: Counts) -> list[tuple[str | None, str, int]]:
    """The pairs whose value is a value: not null, not empty, not a placeholder ('NA', 'N/D', '-', ...)."""
    return [(s, v, n) for s, v, n in counts if v is not None and v.strip() not in NO_VALUE]


class _Batch:
    """Inputs of several columns gathered for one `_match` query."""

    def __init__(self) -> None:
        self.inputs: list[_Input | None] = []
        self.matches: list[_Match | None] = []

    def add(self, inputs: list[_Input | None]) -> slice:
        start = len(self.inputs)
        self.inputs += inputs
        return slice(start, len(self.inputs))

    def run(self, con: duckdb.DuckDBPyConnection) -> None:
        self.matches = _match(con, self.inputs)


@dataclass(frozen=True)
class _Trial:
    """A column's sampled values tried as places of one or more levels (their inputs are in a batch)."""

    column: str
    kind: PlaceKind
    levels: tuple[PlaceLevel, ...]
    geo: bool
    values: tuple[tuple[str, int], ...]
    span: slice


def _trial(batch: _Batch, column: str, counts: Counts, kind: PlaceKind, levels: tuple[PlaceLevel, ...],
           geo: bool, hint: str | None) -> _Trial:
    values = tuple((v, n) for _, v, n in _valued(counts))
    inputs: list[_Input | None] = []
    for level in levels:
        if kind == PlaceKind.KEY:
            inputs += [_key_input(v, level, geo, hint) for v, _ in values]
        else:
            inputs += [_name_input(parse_place(v), level, None, hint) for v, _ in values]
    return _Trial(column, kind, levels, geo, values, batch.add(inputs))


def _shares(trial: _Trial, batch: _Batch, hint: str | None) -> list[float]:
    """Per level, the share of the rows with a value that name or key a place (matched or ambiguous)."""
    total = sum(n for _, n in trial.values)
    if not total:
        return [0.0 for _ in trial.levels]
    matches = batch.matches[trial.span]
    counted = list(trial.values) * len(trial.levels)
    hits = [n if m is not None and m.candidates else 0 for (_, n), m in zip(counted, matches)]
    if trial.kind == PlaceKind.KEY and not trial.geo and hint is None:
        # a municipio's own three digits ('9', '015') need the row's state: a place if some state has it
        local = local_keys()
        hits = [h or (n if (d := key_digits(v)) is not None and len(d) <= 3 and d.zfill(3) in local else 0)
                for h, (v, n) in zip(hits, counted)]
    size = len(trial.values)
    return [sum(hits[i * size:(i + 1) * size]) / total for i in range(len(trial.levels))]


def _looks_named(counts: Counts) -> bool:
    """Whether a column without a place word in its name may name places: a few thousand distinct
    values at most, most rows with letters."""
    values = [(v, n) for _, v, n in _valued(counts)]
    lettered = sum(n for v, n in values if re.search("[A-Za-z]", v))
    return 3 <= len(values) <= NAMED_MAX and lettered >= 0.9 * sum(n for _, n in values)


NAMED_MAX = 5000
"""The most distinct values a column without a place word in its name may have and still name places."""


def _is_keys(counts: Counts) -> bool:
    """Whether nine rows in ten with a value hold a key ('9', '09015', 20453.0)."""
    values = [(v, n) for _, v, n in _valued(counts)]
    keys = sum(n for v, n in values if key_digits(v) is not None)
    return bool(values) and keys >= 0.9 * sum(n for _, n in values)


def _classify(batch: _Batch, column: str, counts: Counts, hint: str | None,
              signal: PlaceLevel | str | None) -> _Trial | None:
    """How a column is tried, from its name's signal and a sample of its values (None: not a place)."""
    if signal is None and len(counts) > NAMED_MAX + 1 and len(_valued(counts)) > NAMED_MAX:
        return None  # neither keys (they need a name) nor names (too many values): not looked at value by value
    if _is_keys(counts):
        if signal is None:
            return None  # numbers are too common to be keys by their values alone
        geo = signal == "geo"
        values = [v for _, v, _ in _valued(counts)]
        level = PlaceLevel(signal) if not geo else (
            PlaceLevel.MUNICIPIO if any(len((key_digits(v) or "").lstrip("0")) >= 3 for v in values)
            else PlaceLevel.ENTIDAD)
        return _trial(batch, column, counts, PlaceKind.KEY, (level,), geo, hint)
    if signal is None and not _looks_named(counts):
        return None
    levels = (PlaceLevel(signal),) if isinstance(signal, PlaceLevel) else (PlaceLevel.MUNICIPIO, PlaceLevel.ENTIDAD)
    return _trial(batch, column, counts, PlaceKind.MUNICIPIO, levels, False, hint)


def _decided(trial: _Trial, batch: _Batch, hint: str | None) -> tuple[PlaceKind, PlaceLevel, bool, float]:
    """(kind, level, geo, share): the level whose share is highest (a tie: municipio)."""
    share, level = max(zip(_shares(trial, batch, hint), trial.levels), key=lambda t: t[0])
    kind = trial.kind if trial.kind == PlaceKind.KEY else _kind(level)
    return kind, level, trial.geo, share


def _kind(level: PlaceLevel) -> PlaceKind:
    return PlaceKind.MUNICIPIO if level == PlaceLevel.MUNICIPIO else PlaceKind.ENTIDAD


def detect_place_columns(con: duckdb.DuckDBPyConnection, relation: str,
                         state_hint: str | None = None) -> list[PlaceColumn]:
    """The columns of `relation` that name or key places: by name (alcaldia, municipio, mun, nom_mun,
    delegacion, entidad, estado, cve_ent, cve_mun, cvegeo, ...) when half their sampled rows are places,
    or by their text values alone when 90% are; numbers are keys only under such a name."""
    hint = state_key(state_hint)
    sample = _sample(con, relation)
    try:
        return _detect(con, relation, sample, hint)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {sample}")


def _detect(con: duckdb.DuckDBPyConnection, relation: str, sample: str, hint: str | None,
            asked: list[str] | None = None) -> list[PlaceColumn]:
    """Detection over every column, or only over the `asked` ones and those whose name says place (the
    state column)."""
    batch, trials = _Batch(), []
    for name, type_ in _columns(con, relation):
        signal = _signal(name)
        if (signal is None and type_ != "VARCHAR") or (asked is not None and signal is None and name not in asked):
            continue
        trial = _classify(batch, name, _value_counts(con, sample, name), hint, signal)
        if trial is not None:
            trials.append((trial, signal))
    batch.run(con)
    found = []
    for trial, signal in trials:
        kind, level, _, share = _decided(trial, batch, hint)
        if share >= (0.5 if signal is not None else 0.9):
            found.append(PlaceColumn(trial.column, kind, level, round(share, 4)))
    return found


def _state_column(columns: list[PlaceColumn]) -> str | None:
    """The state column of a table: a key column first (keys are exact), else names."""
    states = [c for c in columns if c.level == PlaceLevel.ENTIDAD]
    states.sort(key=lambda c: (c.kind != PlaceKind.KEY, -c.share))
    return states[0].name if states else None


# Keying ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    column: str
    kind: PlaceKind
    level: PlaceLevel
    geo: bool
    key_column: str
    name_column: str


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name.lower())
    return name


def key_places(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str] | None = None,
               state_hint: str | None = None, *, target: str | None = None, state_column: str | None = None,
               in_place: bool = False, listed: int = LISTED) -> list[PlaceKeying]:
    """Key the place columns of `relation` (a table or view of `con`): `columns`, or those that
    `detect_place_columns` finds when None. Creates (or replaces) the temporary table `target` (default
    `<relation>_lugares`): every column of `relation` unchanged, in the same row order, then the two
    companions of each keyed column. `state_hint` is the state the dataset is about (its portal: 'CDMX',
    '09'); `state_column` names the table's state column (default: the one detected, a key column first).
    `in_place=True` adds the companions to `relation` itself, a table (no `target`): nothing is copied and
    its rows keep their row groups, so a COPY from it is a plain scan, the same bytes on any number of
    threads (a view joining them back costs a sort, and a join's output order varies).
    Returns one PlaceKeying per keyed column, in `columns` order."""
    hint = state_key(state_hint)
    present = _columns(con, relation)
    names = [n for n, _ in present]
    for asked in (columns or []) + ([state_column] if state_column else []):
        if asked not in names:
            raise PlacesError(N_("%(relation)s: no column %(column)r"), relation=relation, column=asked)
    if in_place:
        if target is not None or _kind_of(con, relation) != "table":
            raise PlacesError(N_("%(relation)s: only a table is keyed in place, with no other target"),
                              relation=relation)
        target = relation
    target = target or f"{relation.strip(chr(34))}_lugares"
    if target.strip('"') == relation.strip('"') and not in_place:
        raise PlacesError(N_("%(relation)s: the target cannot replace the relation it reads"), relation=relation)
    sample = _sample(con, relation)
    try:
        detected = _detect(con, relation, sample, hint, columns)
        plans, state_col = _plans(con, sample, names, columns, detected, state_column, hint)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {sample}")
    states = _state_keys(con, relation, state_col, hint) if state_col else {}
    keyings, maps = [], []
    batch, pending = _Batch(), []
    for plan in plans:
        uses_state = (state_col is not None and plan.level == PlaceLevel.MUNICIPIO and not plan.geo
                      and plan.column != state_col)
        pending.append((plan, uses_state, *_key_inputs(con, relation, plan, state_col if uses_state else None,
                                                       states, hint, batch)))
    batch.run(con)
    try:
        for n, (plan, uses_state, counts, span) in enumerate(pending):
            mapping = f"__places_map_{uuid.uuid4().hex[:12]}"
            maps.append((plan, mapping, uses_state))
            told = (_state_from_values(con, batch, span)
                    if plan.kind == PlaceKind.MUNICIPIO and plan.level == PlaceLevel.MUNICIPIO and not uses_state
                    else None)
            keyings.append(_key_column(con, plan, state_col if uses_state else None, counts, batch, span,
                                       hint, target, listed, mapping, told))
        if in_place:
            _add(con, relation, maps, state_col)
        else:
            _write(con, relation, target, maps, state_col)
    finally:
        for _, mapping, _ in maps:
            con.execute(f"DROP TABLE IF EXISTS {mapping}")
    return keyings


def _plans(con: duckdb.DuckDBPyConnection, sample: str, names: list[str], columns: list[str] | None,
           detected: list[PlaceColumn], state_column: str | None,
           hint: str | None) -> tuple[list[_Plan], str | None]:
    """What to do with each column asked for, and the state column."""
    by_name = {c.name: c for c in detected}
    state_col = state_column or _state_column(detected)
    taken = {n.lower() for n in names}
    asked = columns if columns is not None else [c.name for c in detected]
    batch = _Batch()
    trials = {c: _classify(batch, c, _value_counts(con, sample, c), hint, _signal(c) or "geo")
              for c in asked if c not in by_name}
    batch.run(con)
    plans = []
    for column in asked:
        signal = _signal(column)
        if column in by_name:
            c = by_name[column]
            kind, level, geo = c.kind, c.level, signal == "geo" and c.kind == PlaceKind.KEY
        else:
            trial = trials[column]
            assert trial is not None  # tried as 'geo', a column is always names or keys
            kind, level, geo, _ = _decided(trial, batch, hint)
        suffix = {PlaceKind.MUNICIPIO: "cve_mun", PlaceKind.ENTIDAD: "cve_ent"}.get(kind) or (
            "cvegeo" if level == PlaceLevel.MUNICIPIO else "cve_ent")
        plans.append(_Plan(column, kind, level, geo, _unique(f"{column}_{suffix}", taken),
                           _unique(f"{column}_nombre_oficial", taken)))
    return plans, state_col


def _state_keys(con: duckdb.DuckDBPyConnection, relation: str, column: str, hint: str | None) -> dict[str, str]:
    """Each value of the state column -> its cve_ent (values that match no single state are left out)."""
    counts = _value_counts(con, relation, column)
    values = [v for _, v, _ in _valued(counts)]
    keys = _is_keys(counts)
    inputs = [_key_input(v, PlaceLevel.ENTIDAD, False, None) if keys
              else _name_input(parse_place(v), PlaceLevel.ENTIDAD, None, hint) for v in values]
    return {v: m.cvegeo for v, m in zip(values, _match(con, inputs)) if m is not None and m.cvegeo}


def _key_inputs(con: duckdb.DuckDBPyConnection, relation: str, plan: _Plan, state_col: str | None,
                states: dict[str, str], hint: str | None, batch: _Batch) -> tuple[Counts, slice]:
    """A column's distinct values (with the row's state value) and where their inputs are in `batch`."""
    counts = _value_counts(con, relation, plan.column, state_col)
    inputs: list[_Input | None] = []
    for s, v, _ in _valued(counts):
        state = states.get(s) if s is not None else None
        if plan.kind == PlaceKind.KEY:
            inputs.append(_key_input(v, plan.level, plan.geo, state or hint))
        else:
            inputs.append(_name_input(parse_place(v), plan.level, state, hint))
    return counts, batch.add(inputs)


STATE_EVIDENCE = 3
"""The distinct matched municipios, all in one state, that make a column one of that state."""


def _state_from_values(con: duckdb.DuckDBPyConnection, batch: _Batch,
                       span: slice) -> tuple[str, frozenset[int]] | None:
    """When every matched value of a municipio column (STATE_EVIDENCE of them at least) lies in one state and
    some ambiguous value could be a municipio of it: that state, and the values (positions in `span`) matched
    again with it preferred that now have a key; their matches are replaced in `batch`."""
    inputs, matches = batch.inputs[span], batch.matches[span]
    places = {m.cvegeo for m in matches if m is not None and m.cvegeo}  # spellings of one place count once
    states = {key[:2] for key in places}
    if len(places) < STATE_EVIDENCE or len(states) != 1:
        return None
    (state,) = states
    again = [k for k, (i, m) in enumerate(zip(inputs, matches)) if i is not None and m is not None
             and not m.cvegeo and any(c[:2] == state for c in m.candidates)]
    found = _match(con, [replace(inputs[k], hint=state) for k in again]) if again else []
    resolved = []
    for k, m in zip(again, found):
        if m is not None and m.cvegeo:
            batch.matches[span.start + k] = m
            resolved.append(k)
    return (state, frozenset(resolved)) if resolved else None


def _key_column(con: duckdb.DuckDBPyConnection, plan: _Plan, state_col: str | None, counts: Counts,
                batch: _Batch, span: slice, hint: str | None, target: str, listed: int,
                mapping: str, told: tuple[str, frozenset[int]] | None = None) -> PlaceKeying:
    """One column's matches into the temporary table `mapping` (state value, value, key, name) that the
    output joins; returns its keying (`told`: the state its own values told, and the values it keyed)."""
    rows = sum(c for _, _, c in counts)
    valued = _valued(counts)
    inputs, matches = batch.inputs[span], batch.matches[span]
    keys, matched, ambiguous, unmatched, approximate, resolved = [], [], [], [], [], []
    for k, ((s, v, c), i, m) in enumerate(zip(valued, inputs, matches)):
        key = m.cvegeo if m is not None else None
        value = PlaceValue(v, c, s if state_col else None)
        if key and i is not None and m is not None:
            keys.append((s, v, key))
            matched.append(c)
            if told and k in told[1]:
                resolved.append(PlaceValue(v, c, value.state, (key,)))
            elif m.tier or i.wild:
                approximate.append(PlaceValue(v, c, value.state, (key,)))
        elif m is not None and len(m.candidates) > 1:
            ambiguous.append(PlaceValue(v, c, value.state, m.candidates))
        else:
            unmatched.append(value)
    view = mapping + "_values"
    _temp_table(con, view, {"s": ("VARCHAR", [k[0] for k in keys]), "v": ("VARCHAR", [k[1] for k in keys]),
                            "cvegeo": ("VARCHAR", [k[2] for k in keys])})
    try:
        key_sql = "p.cve_ent" if plan.level == PlaceLevel.ENTIDAD and plan.kind != PlaceKind.KEY else "p.cvegeo"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {mapping} AS SELECT m.s, m.v, {key_sql} AS k, p.nombre AS nombre "
                    f"FROM {view} m JOIN {PLACES_TABLE} p ON p.cvegeo = m.cvegeo")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {view}")
    with_value = sum(c for _, _, c in valued)

    def top(values: list[PlaceValue]) -> tuple[PlaceValue, ...]:
        return tuple(sorted(values, key=lambda x: (-x.rows, x.value, x.state or ""))[:listed])

    return PlaceKeying(
        column=plan.column, kind=plan.kind, level=plan.level, relation=target, key_column=plan.key_column,
        name_column=plan.name_column, state_column=state_col, state_hint=hint, rows=rows,
        rows_with_value=with_value, rows_matched=sum(matched), rows_ambiguous=sum(a.rows for a in ambiguous),
        share_matched=(sum(matched) / with_value) if with_value else None, distinct_values=len(valued),
        distinct_matched=len(keys), ambiguous=top(ambiguous), ambiguous_count=len(ambiguous),
        unmatched=top(unmatched), unmatched_count=len(unmatched), approximate=top(approximate),
        approximate_count=len(approximate), state_from_values=told[0] if told else None, resolved=top(resolved),
        resolved_count=len(resolved))


def _kind_of(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'table', 'view' or None: what `name` is in this connection."""
    for kind, catalog in (("table", "duckdb_tables()"), ("view", "duckdb_views()")):
        if con.execute(f"SELECT count(*) FROM {catalog} WHERE {kind}_name = ?", [name.strip('"')]).fetchall()[0][0]:
            return kind
    return None


def _match_on(n: int, row: str, plan: _Plan, uses_state: bool, state_col: str | None) -> str:
    """SQL: the mapping `m<n>` row of the relation's row `row` (its value, and its state when it counts)."""
    on = f"m{n}.v = CAST({row}.{_q(plan.column)} AS VARCHAR)"
    if uses_state and state_col:
        on += f" AND m{n}.s IS NOT DISTINCT FROM CAST({row}.{_q(state_col)} AS VARCHAR)"
    return on


def _add(con: duckdb.DuckDBPyConnection, table: str, maps: list[tuple[_Plan, str, bool]],
         state_col: str | None) -> None:
    """The companions as new columns of `table`, set where a value matched (NULL elsewhere, as a left join)."""
    for n, (plan, mapping, uses_state) in enumerate(maps):
        for column in (plan.key_column, plan.name_column):
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_q(column)} VARCHAR")
        con.execute(f"UPDATE {table} AS r SET {_q(plan.key_column)} = m{n}.k, {_q(plan.name_column)} = m{n}.nombre "
                    f"FROM {mapping} m{n} WHERE {_match_on(n, 'r', plan, uses_state, state_col)}")


def _write(con: duckdb.DuckDBPyConnection, relation: str, target: str,
           maps: list[tuple[_Plan, str, bool]], state_col: str | None) -> None:
    """The target table: the relation's rows in their order, each keyed column's companions beside."""
    is_table = _kind_of(con, relation) == "table"
    order = "rowid" if is_table else "row_number() OVER ()"
    added, joins = [], []
    for n, (plan, mapping, uses_state) in enumerate(maps):
        joins.append(f"LEFT JOIN {mapping} m{n} ON {_match_on(n, 'r', plan, uses_state, state_col)}")
        added += [f"m{n}.k AS {_q(plan.key_column)}", f"m{n}.nombre AS {_q(plan.name_column)}"]
    existing = _kind_of(con, target)
    if existing and existing != "table":
        con.execute(f"DROP {existing.upper()} {_q(target)}")
    if is_table and maps:
        # only the companions are joined and put back in the table's order (narrow: a big table is not sorted
        # whole), then set beside its rows, which a table's scan gives in order
        read = {plan.column for plan, _, _ in maps} | ({state_col} if state_col else set())
        narrow = ", ".join(_q(c) for c in sorted(read))
        body = (f"SELECT t.*, c.* FROM {relation} t POSITIONAL JOIN (SELECT {', '.join(added)} FROM "
                f"(SELECT {narrow}, rowid AS __places_row FROM {relation}) r {' '.join(joins)} ORDER BY r.__places_row) c")
    else:
        body = (f"SELECT {', '.join(['r.* EXCLUDE (__places_row)'] + added)} FROM (SELECT *, {order} AS __places_row "
                f"FROM {relation}) r {' '.join(joins)} ORDER BY r.__places_row")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(target)} AS {body}")


def companions(keyings: Iterable[PlaceKeying]) -> list[str]:
    """The companion columns the keyings added, in table order."""
    return [name for k in keyings for name in k.companion_columns]
