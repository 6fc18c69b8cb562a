"""Theme profiles: `profiles/<name>.toml`, the organizers' declarative description of a datathon theme.

A profile names the public problem, the words that find its datasets, the publishers and groups to
take whole, the organizers' explicit includes and excludes, the quality gates a dataset must pass, and
the expectations its tables are checked against. The format is a public interface (see the README);
a mistake is one line naming the file and the key.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester.errors import ConfigError, Text
from harvester.i18n import N_
from harvester.paths import make_folder
from harvester.text import normalize

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATASET_REF = re.compile(r"^[A-Za-z0-9_-]+/[^/\s]+$")
MATCH_FIELDS = ("title", "description", "tags", "groups", "organization", "columns")
OPENNESS = ("any", "open-licence", "machine-readable")


@dataclass(frozen=True)
class Gates:
    min_mqa: int = 0
    """Least MQA points (0-405)."""
    min_stars: int = 0
    """Least five-star openness of the best resource (0-5)."""
    require_valid: bool = False
    max_errors: int | None = None
    """Most validation errors over the dataset's tables (None: no limit)."""
    max_age_days: int | None = None
    """Most days since the dataset last changed (None: no limit)."""
    openness: str = "any"
    """any, open-licence, or machine-readable (an open licence and a machine-readable table)."""


@dataclass(frozen=True)
class Expectations:
    """Column checks run with Great Expectations on each accepted table; columns are chosen by name
    patterns (shell-style, matched without case or accents)."""
    alcaldia_columns: tuple[str, ...] = ()
    latitude_columns: tuple[str, ...] = ()
    longitude_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    share_columns: tuple[str, ...] = ()
    count_columns: tuple[str, ...] = ()
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """catalog/dataset -> columns its tables must have."""


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    title: str
    problem_es: str
    problem_en: str
    terms: dict[str, tuple[str, ...]]
    """Each search term with its synonyms (all normalized: lower case, no accents)."""
    fields: tuple[str, ...]
    catalogs: tuple[str, ...]
    organizations: tuple[str, ...]
    groups: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    min_terms: int
    gates: Gates
    expectations: Expectations
    csv_copies: bool = False
    """`[pack] csv_copies`: a CSV copy of every table under `csv/` for spreadsheet users."""


class _Reader:
    """Typed access to one TOML table, every mistake a ConfigError naming the file and the key."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str) -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def fail(self, key: str, message: str, **values: Any) -> ConfigError:
        """The error naming the file and the key; `message` (marked with N_) and its values say what is wrong."""
        return ConfigError(N_("%(file)s: %(key)s: %(problem)s"), file=self.path, key=f"{self.prefix}{key}",
                           problem=Text(message, **values))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, N_("expected %(kind)s, got %(value)r"), kind=names, value=value)
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.get(key, str, default)
        if value is None or not value.strip():
            raise self.fail(key, N_("required, a non-empty string"))
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(key, N_("expected a list of non-empty strings, got %(value)r"), value=value)
        return tuple(v.strip() for v in values)

    def number(self, key: str, default: int | None, low: int, high: int | None = None) -> int | None:
        value = self.get(key, int, default)
        if value is not None and (value < low or (high is not None and value > high)):
            if high is None:
                raise self.fail(key, N_("expected a number from %(low)s, got %(value)s"), low=low, value=value)
            raise self.fail(key, N_("expected a number from %(low)s to %(high)s, got %(value)s"), low=low, high=high,
                            value=value)
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.path, self.get(key, dict, {}), f"{self.prefix}{key}.")

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise self.fail(unknown[0], N_("unknown key"))


def load_theme(path: Path) -> Theme:
    """Read and check one profile file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(N_("%(file)s: cannot read: %(reason)s"), file=path, reason=exc.strerror or exc) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(N_("%(file)s: not valid TOML: %(reason)s"), file=path, reason=exc) from exc
    top = _Reader(path, data, "")
    theme = top.sub("theme")
    name = theme.text("name", path.stem)
    if not NAME.match(name):
        raise theme.fail("name", N_("expected lower-case letters, digits and hyphens, got %(value)r"), value=name)
    if name != path.stem:
        raise theme.fail("name", N_("%(value)r differs from the file name %(stem)r"), value=name, stem=path.stem)
    title, problem_es, problem_en = theme.text("title"), theme.text("problem_es"), theme.text("problem_en")
    theme.done()

    match = top.sub("match")
    terms = match.texts("terms")
    if not terms:
        raise match.fail("terms", N_("required, at least one search term"))
    synonyms = match.sub("synonyms")
    expanded: dict[str, tuple[str, ...]] = {}
    for term in terms:
        words = (term,) + synonyms.texts(term)
        expanded[normalize(term)] = tuple(dict.fromkeys(normalize(w) for w in words))
    stray = sorted(set(synonyms.table) - set(terms))
    if stray:
        raise synonyms.fail(stray[0], N_("synonyms of a term that is not in match.terms"))
    fields = match.texts("fields") or MATCH_FIELDS
    for f in fields:
        if f not in MATCH_FIELDS:
            raise match.fail("fields", N_("unknown field %(value)r; expected some of %(known)s"), value=f,
                             known=", ".join(MATCH_FIELDS))
    min_terms = match.number("min_terms", 1, 1)
    catalogs = match.texts("catalogs")
    organizations, groups = match.texts("organizations"), match.texts("groups")
    include, exclude = match.texts("include"), match.texts("exclude")
    for key, refs in (("include", include), ("exclude", exclude)):
        for ref in refs:
            if not DATASET_REF.match(ref):
                raise match.fail(key, N_("expected catalog/dataset, got %(value)r"), value=ref)
    both = sorted(set(include) & set(exclude))
    if both:
        raise match.fail("exclude", N_("%(ref)s is also in match.include"), ref=both[0])
    match.done()

    gates_in = top.sub("gates")
    openness = gates_in.get("openness", str, "any")
    if openness not in OPENNESS:
        raise gates_in.fail("openness", N_("expected one of %(known)s, got %(value)r"), known=", ".join(OPENNESS),
                            value=openness)
    gates = Gates(min_mqa=gates_in.number("min_mqa", 0, 0, 405) or 0,
                  min_stars=gates_in.number("min_stars", 0, 0, 5) or 0,
                  require_valid=gates_in.get("require_valid", bool, False),
                  max_errors=gates_in.number("max_errors", None, 0),
                  max_age_days=gates_in.number("max_age_days", None, 1), openness=openness)
    gates_in.done()

    exp = top.sub("expectations")
    required_in = exp.sub("required")
    required = {}
    for ref in required_in.table:
        if not DATASET_REF.match(ref):
            raise required_in.fail(ref, N_("expected a catalog/dataset key"))
        required[ref] = required_in.texts(ref)
    expectations = Expectations(
        alcaldia_columns=exp.texts("alcaldia_columns"), latitude_columns=exp.texts("latitude_columns"),
        longitude_columns=exp.texts("longitude_columns"), date_columns=exp.texts("date_columns"),
        share_columns=exp.texts("share_columns"), count_columns=exp.texts("count_columns"), required=required)
    required_in.done()
    exp.done()
    pack = top.sub("pack")
    csv_copies = pack.get("csv_copies", bool, False)
    pack.done()
    top.done()
    return Theme(name=name, path=path, title=title, problem_es=problem_es, problem_en=problem_en, terms=expanded,
                 fields=tuple(fields), catalogs=catalogs, organizations=organizations, groups=groups,
                 include=include, exclude=exclude, min_terms=min_terms or 1, gates=gates, expectations=expectations,
                 csv_copies=csv_copies)


def theme_path(profiles: Path, name: str) -> Path:
    path = profiles / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in profiles.glob("*.toml")))
        if not known:
            raise ConfigError(N_("%(file)s: no such theme profile (known: none)"), file=path)
        raise ConfigError(N_("%(file)s: no such theme profile (known: %(known)s)"), file=path, known=known)
    return path


PROFILE_TEMPLATE = '''# Perfil temático / theme profile: {title}
# Formato completo / full format: README, "Theme profiles". Revise y luego / edit, then:
#   harvester pack candidates {name}     (qué conjuntos trae y por qué / what it brings in, and why)
#   harvester pack build {name}          (el paquete para los equipos / the teams' pack)

[theme]
name = "{name}"                  # igual al nombre del archivo / must equal the file name
title = "{title}"
problem_es = """El problema público del datatón, en una o dos frases."""
problem_en = """The datathon's public problem, in a sentence or two."""

[match]
# términos buscados en título, descripción, etiquetas, grupos, publicador y nombres de columnas, sin
# importar mayúsculas ni acentos / terms looked for in titles, descriptions, tags, groups, publishers and
# column names, whatever the case and accents
terms = {terms}
min_terms = 1                    # cuántos términos distintos debe tener un conjunto / how many different terms
catalogs = []                    # solo estos catálogos (vacío: todos) / only these catalogs (empty: all)
organizations = []               # publicadores cuyos conjuntos entran todos / publishers whose datasets all come in
groups = []                      # grupos cuyos conjuntos entran todos / groups whose datasets all come in
# include: "catálogo/conjunto" siempre es candidato, aunque no tenga ningún término; las compuertas
# ([gates]) deciden igual si entra al paquete (uno rechazado aparece con la compuerta que falló) /
# always a candidate, even with no term; the gates still decide whether it is packed
include = []
exclude = []                     # "catálogo/conjunto" nunca / never

[match.synonyms]                 # más palabras para un término / more words for a term
# "guarderías" = ["guarderia", "estancia infantil"]

[gates]                          # todas opcionales / all optional
min_mqa = 121                    # calidad de metadatos MQA (0-405) / metadata quality
min_stars = 3                    # cinco estrellas de datos abiertos / five-star openness of the best resource
max_errors = 1000                # errores de validación / validation errors over its tables
max_age_days = 3650              # días desde el último cambio / days since it last changed
openness = "machine-readable"    # any | open-licence | machine-readable

[expectations]                   # patrones de nombres de columnas / column name patterns (shell-style)
alcaldia_columns = ["alcaldia*"]
date_columns = ["fecha*"]

[pack]
csv_copies = false               # true: copia CSV de cada tabla para hojas de cálculo / CSV copies for spreadsheets
'''


def new_profile(profiles: Path, name: str, title: str | None = None) -> Path:
    """Write a commented theme profile to start from (`harvester pack new NAME`); never over an existing
    one. Its terms start as the words of its name; it loads as it is."""
    if not NAME.match(name):
        raise ConfigError(N_("%(name)r: a theme name is lower-case letters, digits and hyphens (agua-potable)"),
                          name=name)
    path = profiles / f"{name}.toml"
    if path.exists():
        raise ConfigError(N_("%(file)s: already exists; edit it, or choose another name"), file=path)
    words = " ".join(name.split("-"))
    text = PROFILE_TEMPLATE.format(name=name, title=(title or words.capitalize()).replace('"', "'"),
                                   terms=json.dumps([words], ensure_ascii=False))
    make_folder(profiles)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    load_theme(path)  # what it writes is a valid profile
    return path
