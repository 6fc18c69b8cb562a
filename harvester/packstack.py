"""Yearly and monthly files as one table: which sibling resources of a dataset a pack stacks, and how their
columns line up.

Two tables of one dataset, from different resources, are the same table over time when their columns line
up: by the pack's snake_case name; else by the same name written another way (camelCase against snake_case,
accents or the ñ lost: `idCarpeta` / `id_carpeta`, `anio_inicio` / `Ano_inicio`); else by one letter lost to a
broken encoding (`ao_hechos` for `año_hechos`), when one column alone fits. They are stacked when at least
`MIN_SHARED` (80%) of the wider table's columns line up, or `MIN_SHARED_DATED` (60%) when each file's name
gives it a different period; else they stay separate with the reason. Sheets of one workbook stay separate
tables (they are parts of one resource, not files over time), and so do a file and a sheet or member of
another (the same table in two formats).

The period of each file (year, range of years, or year and month) is read from the resource's name, else
its file name, else its URL: `Víctimas 2019-2022`, `ecobici_2024_01.csv`, `...VehiculoAbr2016.csv`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from harvester.colnames import snake
from harvester.i18n import N_, NP_, Language, format_number, format_percent, translations
from harvester.text import normalize

MIN_SHARED = 0.8
"""The share of the wider table's columns that must line up for two files to be stacked."""
MIN_SHARED_DATED = 0.6
"""The same, for two files whose names give each its own period (yearly files that dropped a column or two)."""
ORIGIN_COLUMNS = ("origen_archivo", "origen_periodo", "origen_anio", "origen_anio_hasta", "origen_mes")
"""The columns a stacked table gets: which file each row came from, and its period."""
ORIGIN_NAMES = {"origen_archivo": N_("source file"), "origen_periodo": N_("the file's period"),
                "origen_anio": N_("the file's year (the first, when it covers several)"),
                "origen_anio_hasta": N_("the file's last year"), "origen_mes": N_("the file's month")}
"""What the origin columns, which no source file names, are (their title in datapackage.json, their original
name in the READMEs' dictionary)."""
MONTHS = {"ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sep": 9, "set": 9,
          "oct": 10, "nov": 11, "dic": 12, "jan": 1, "apr": 4, "aug": 8, "dec": 12}
YEAR = r"(?:19[5-9]\d|20[0-4]\d)"


@dataclass(frozen=True)
class Period:
    text: str
    """`2023`, `2019-2022`, `2024-01`."""
    year: int
    year_to: int
    month: int | None = None


def period_of(*texts: str | None) -> Period | None:
    """The period the first of these texts that names one names (see the module doc)."""
    for raw in texts:
        if not raw:
            continue
        text = normalize(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", unquote(raw)))  # `VehiculoAbr2016`
        if "://" in text:
            text = urlparse(text).path
        found = _period(text)
        if found:
            return found
    return None


def _period(text: str) -> Period | None:
    edge = r"(?<![0-9])"
    end = r"(?![0-9])"
    match = re.search(rf"{edge}({YEAR})\s*[-_ a]+\s*({YEAR}){end}", text)
    if match and int(match[1]) < int(match[2]):
        return Period(f"{match[1]}-{match[2]}", int(match[1]), int(match[2]))
    match = re.search(rf"{edge}({YEAR})[-_./ ]?(0[1-9]|1[0-2]){end}", text)
    if match:
        return Period(f"{match[1]}-{match[2]}", int(match[1]), int(match[1]), int(match[2]))
    match = re.search(rf"(?<![a-z])({'|'.join(MONTHS)})[a-z]*[-_. ]?(?:de[-_ ])?({YEAR}){end}", text)
    if match:
        month = MONTHS[match[1]]
        return Period(f"{match[2]}-{month:02d}", int(match[2]), int(match[2]), month)
    match = re.search(rf"{edge}({YEAR}){end}", text)
    if match:
        return Period(match[1], int(match[1]), int(match[1]))
    return None


def align_key(name: str) -> str:
    """A column name with case, accents, separators and the ñ (written `ni` or `n`) set aside."""
    return snake(name, set(), 0).replace("_", "").replace("ni", "n")


def _one_letter_apart(a: str, b: str) -> bool:
    """`b` is `a` with one letter more (or the other way round): a letter lost to a broken encoding."""
    if abs(len(a) - len(b)) != 1 or min(len(a), len(b)) < 2:
        return False
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


@dataclass(frozen=True)
class Match:
    """One column of a later file lined up with the base file's column."""

    base: str
    """The base file's original name (the stacked table's column)."""
    other: str
    """The later file's original name."""
    how: str
    """same, spelling or lost_letter."""


WHY = {"spelling": N_("the same name written another way: case, accents, ñ or separators"),
       "lost_letter": N_("a letter lost to a broken encoding")}
"""Why a column of a later file was lined up with another name of the base file (`Match.how`)."""


def why_matched(how: str, lang: Language) -> str:
    """Why a column was lined up with another name (`Match.how`: spelling or lost_letter), in `lang`."""
    return translations(lang).gettext(WHY[how])


@dataclass
class Alignment:
    matches: list[Match] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    """The later file's columns that line up with none of the base file's."""
    missing: list[str] = field(default_factory=list)
    """The base file's columns the later file lacks."""

    def share(self, base: list[str], other: list[str]) -> float:
        return len(self.matches) / max(len(base), len(other), 1)


def align(base: list[str], other: list[str]) -> Alignment:
    """Line the columns of `other` up with those of `base` (original names; see the module doc)."""
    free = list(base)
    result = Alignment()
    pending: list[str] = []
    exact = {snake(b, set(), 0): b for b in base}
    for name in other:
        hit = exact.get(snake(name, set(), 0))
        if hit in free:
            free.remove(hit)
            result.matches.append(Match(hit, name, "same"))
        else:
            pending.append(name)
    still = []
    for name in pending:
        hits = [b for b in free if align_key(b) == align_key(name)]
        if len(hits) == 1:
            free.remove(hits[0])
            result.matches.append(Match(hits[0], name, "spelling"))
        else:
            still.append(name)
    for name in still:
        hits = [b for b in free if len(align_key(name)) >= 3 and _one_letter_apart(align_key(b), align_key(name))]
        if len(hits) == 1:
            free.remove(hits[0])
            result.matches.append(Match(hits[0], name, "lost_letter"))
        else:
            result.unmatched.append(name)
    result.missing = free
    return result


def needed(base: Period | None, other: Period | None) -> float:
    """The share of columns two files must have in common to be stacked."""
    return MIN_SHARED_DATED if base and other and base != other else MIN_SHARED


TOO_DIFFERENT = NP_("they share %(shared)s of %(wider)s column (at least %(needed)s are needed to stack them)",
                    "they share %(shared)s of %(wider)s columns (at least %(needed)s are needed to stack them)")


def too_different(base: list[str], other: list[str], alignment: Alignment, share: float, lang: Language) -> str:
    """Why two files of one dataset stay separate tables, in `lang` (the wider file's count of columns, the
    share needed in the language's conventions)."""
    shared, wider = len(alignment.matches), max(len(base), len(other))
    return translations(lang).ngettext(*TOO_DIFFERENT, wider) % {
        "shared": format_number(shared, lang), "wider": format_number(wider, lang),
        "needed": format_percent(share, lang)}
