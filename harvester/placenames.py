"""Mexico's places as INEGI names them, and place names folded for matching: the facts places.py keys with.

`places()` reads `harvester/data/inegi_places.csv` (INEGI, Marco Geoestadístico 2023: 32 states and 2,475
municipios; `scripts/derive-inegi-places` derives it from INEGI's DBFs); `parse_place` folds a value as it
is matched (case, accents, punctuation, abbreviations, prefixes, a state suffix, a mojibake repaired, lost
letters as a one-letter wildcard); `state_key` reads a state hint. Pure Python: the matching in DuckDB, the
detection of place columns and their keying are in places.py.
"""
from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

from harvester.errors import HarvesterError
from harvester.i18n import N_


class PlacesError(HarvesterError):
    """A place keying cannot be done as asked (unknown column, unknown state hint)."""


@dataclass(frozen=True)
class Place:
    """A state (cve_mun '') or a municipio, as INEGI names it."""

    cvegeo: str
    """'09' for a state, '09015' for a municipio."""
    cve_ent: str
    cve_mun: str
    name: str
    state_name: str


@dataclass(frozen=True)
class PlaceName:
    """A value folded for matching: `key` is lower-case ASCII words, '_' where a letter was lost."""

    key: str
    state: str | None = None
    """The cve_ent of a state named in the value itself ('Cuauhtémoc, CDMX' -> '09')."""

    @property
    def lost_letters(self) -> bool:
        return "_" in self.key


@functools.cache
def places() -> tuple[Place, ...]:
    """The 32 states and 2,475 municipios, sorted by cvegeo (the package's `data/inegi_places.csv`)."""
    text = resources.files("harvester").joinpath("data/inegi_places.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    return tuple(Place(r["cvegeo"], r["cve_ent"], r["cve_mun"], r["nomgeo"], r["nom_ent"]) for r in rows)


@functools.cache
def local_keys() -> frozenset[str]:
    """Every cve_mun some state has ('001' ... '570')."""
    return frozenset(p.cve_mun for p in places() if p.cve_mun)


@functools.cache
def _by_key() -> dict[str, Place]:
    return {p.cvegeo: p for p in places()}


def place(cvegeo: str) -> Place | None:
    """The state ('09') or municipio ('09015') of a key."""
    return _by_key().get(cvegeo)


STATE_ALIASES = {
    "01": ["ags"], "02": ["bc"], "03": ["bcs"], "04": ["camp"], "05": ["coah"], "06": ["col"],
    "07": ["chis"], "08": ["chih"],
    "09": ["cdmx", "cd mx", "df", "d f", "distrito federal", "mexico df", "mexico d f", "ciudad de mexico cdmx"],
    "10": ["dgo"], "11": ["gto"], "12": ["gro"], "13": ["hgo"], "14": ["jal"],
    "15": ["edomex", "edo mex", "estado de mexico", "edo de mexico", "mex", "mexico estado"],
    "16": ["mich"], "17": ["mor"], "18": ["nay"], "19": ["nl"], "20": ["oax"], "21": ["pue"],
    "22": ["qro", "queretaro de arteaga"], "23": ["q roo", "qroo", "qr"], "24": ["slp"], "25": ["sin"],
    "26": ["son"], "27": ["tab"], "28": ["tamps", "tamp"], "29": ["tlax"], "30": ["ver", "veracruz llave"],
    "31": ["yuc"], "32": ["zac"],
}
"""Other names of the states: INEGI's abbreviations (Ags., Coah., Q. Roo, ...) and the usual ones (CDMX,
D.F., Edomex), folded as `parse_place` folds."""
MUNICIPIO_ALIASES = {"09005": ["gam"]}
"""Other names of municipios in common use that no folding rule finds."""

ABBREVIATIONS = {"gral": "general", "cd": "ciudad", "sta": "santa", "sto": "santo", "sn": "san",
                 "gpe": "guadalupe", "ma": "maria", "dr": "doctor", "ing": "ingeniero", "lic": "licenciado",
                 "sgo": "santiago", "stgo": "santiago", "nvo": "nuevo", "cnel": "coronel", "pdte": "presidente",
                 "hca": "heroica", "fco": "francisco", "jose": "jose", "mtz": "martinez"}
"""Abbreviations of words in place names, expanded in values and official names alike."""
ARTICLES = ("la ", "el ", "los ", "las ")
PREFIX = re.compile(r"^(?:alcaldia|delegacion|deleg\.?|del\.|demarcacion(?: territorial)?|municipio(?: de)?"
                    r"|mpio\.?(?: de)?|mun\.|h\.? ayuntamiento(?: de)?|ayuntamiento(?: de)?)\s+(?=\S)")
"""Words before the name ('Alcaldía Cuauhtémoc', 'Del. Cuauhtémoc'); 'Del' without its dot is a name
('Del Nayar')."""
SUFFIX = re.compile(r"^(.+?)\s*(?:,|\(|\s-\s)\s*([^,()]+?)\s*\)?\s*$")
"""A name followed by ', <state>', '(<state>)' or ' - <state>'."""
MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]")
"""UTF-8 read as Latin-1 or cp1252: 'JosÃ©' for 'José'."""
LOST = re.compile(r"(?<=[a-z])[?\ufffd]+|[?\ufffd]+(?=[a-z])")
"""Letters lost upstream: 'R?o', 'San Jos\ufffd', 'Nu\ufffd\ufffd'."""


def _unmojibake(match: re.Match[str]) -> str:
    try:
        return match.group(0).encode("latin-1").decode("utf-8")
    except UnicodeError:
        return match.group(0)



def fold_text(text: str) -> str:
    """Lower case, accents off, lost letters as '_', punctuation as spaces (dots kept for the prefixes)."""
    text = MOJIBAKE.sub(_unmojibake, text)
    text = unicodedata.normalize("NFKD", text.replace("_", " ").lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = LOST.sub(lambda m: "_" * len(m.group(0)), text)
    text = re.sub(r"[^a-z0-9_.,()\s-]+", " ", text)
    return " ".join(text.split())


def place_words(text: str) -> str:
    """Folded text as the words matched: punctuation gone, abbreviations expanded."""
    words = re.sub(r"[^a-z0-9_]+", " ", text).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def unarticled(key: str) -> str:
    for article in ARTICLES:
        if key.startswith(article) and len(key) > len(article):
            return key[len(article):]
    return key


GENERIC = frozenset({"ciudad", "villa", "heroica", "san", "santa", "santo", "santiago", "general", "la", "el",
                     "los", "las", "nuevo", "nueva", "real", "valle", "pueblo"})
"""Words a short name may not end with: 'Ciudad de México' is not 'Ciudad', 'Villa de Álvarez' not 'Villa'."""


def short_name(key: str) -> str | None:
    """The short name of an 'X de Y' name: 'cuajimalpa de morelos' -> 'cuajimalpa', 'coahuila de
    zaragoza' -> 'coahuila'."""
    head, sep, _ = key.partition(" de ")
    return head if sep and head and head.split()[-1] not in GENERIC else None


@functools.lru_cache(maxsize=1 << 16)
def parse_place(text: str) -> PlaceName | None:
    """A value as matched ('GUSTAVO A. MADERO' -> 'gustavo a madero'; 'Alcaldía Cuauhtémoc, CDMX' ->
    'cuauhtemoc' in '09'; 'R?o Bravo' -> 'r_o bravo'), None when it holds no name."""
    folded = fold_text(text)
    state = None
    suffix = SUFFIX.match(folded)
    if suffix:
        state = state_names().get(place_words(suffix.group(2)))
        if state:
            folded = suffix.group(1)
    folded = PREFIX.sub("", folded)
    key = place_words(folded)
    return PlaceName(key, state) if re.search("[a-z]", key) else None


def normalize_place(text: str) -> str:
    """The matched form of a place name ('' when it holds none)."""
    parsed = parse_place(text)
    return parsed.key if parsed else ""


@functools.cache
def state_names() -> dict[str, str]:
    """Folded names, short names and aliases of the states -> cve_ent."""
    found: dict[str, str] = {}
    for p in places():
        if not p.cve_mun:
            key = place_words(fold_text(p.name))
            found[key] = p.cve_ent
            short = short_name(key)
            if short:
                found.setdefault(short, p.cve_ent)
    for ent, aliases in STATE_ALIASES.items():
        for alias in aliases:
            found[alias] = ent
    return found


def state_key(hint: str | None) -> str | None:
    """The cve_ent of a state hint: '09', '9', 9, 'CDMX', 'Ciudad de México', 'Coahuila'; None for None.
    Raises PlacesError for anything else."""
    if hint is None:
        return None
    text = str(hint).strip()
    digits = key_digits(text)
    if digits and len(digits) <= 2 and place(digits.zfill(2)):
        return digits.zfill(2)
    found = state_names().get(place_words(fold_text(text)))
    if found is None:
        raise PlacesError(N_("unknown state: %(state)r (a key '01'-'32' or a name)"), state=hint)
    return found


def key_digits(text: str) -> str | None:
    """A key's digits ('9', '09015', '20453.0', ' 9 ') or None when the text is not a key."""
    match = re.fullmatch(r"\s*0*([0-9]{1,5})(?:\.0*)?\s*", text)
    if not match:
        return None
    whole = text.strip().split(".")[0]
    return whole if len(whole) <= 5 else match.group(1)
