"""A pack's data dictionary: column descriptions and value labels where the portals give them.

Two sources, both from the dataset itself:
- a dictionary table of the same dataset: a resource or sheet named "diccionario" (`Diccionario de datos`,
  `diccionario_victimas.csv`, an XLSX sheet `Diccionario`), or any table with a field column (`campo`,
  `variable`, `columna`, `nombre del campo`, ...) and a description column (`descripción`, `definición`,
  `significado`). Where it also has a value column (`valor`, `código`, `clave`) and a label column
  (`etiqueta`, `descripción del valor`), those rows are the value labels of a coded column (`1` = `Hombre`);
  a field cell left blank under a field continues the one above, as dictionaries are written. A two-column
  "diccionario" table without such a header (INECC's: its first row is already `Clave Entidad` | `Clave de la
  Entidad según INEGI`) is read as field | description, its header row included.
- DCAT `field` metadata: a data.json distribution's `field` list (`title`, `description`, `type`), as
  Andino / DCAT-AR portals publish it, for the distribution whose URL is the table's.

Column names are compared as packstack.align_key compares them (case, accents, ñ and separators set aside).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harvester.packstack import align_key
from harvester.text import normalize

FIELD_COLUMNS = ("campo", "variable", "nombre_del_campo", "nombre_campo", "nombre_de_campo", "columna",
                 "nombre_de_la_columna", "nombre_de_la_variable", "nombre_variable", "field", "column", "variable_name")
DESCRIPTION_COLUMNS = ("descripcion", "descripcion_del_campo", "descripcion_de_la_variable", "definicion",
                       "significado", "description", "descripcion_campo")
VALUE_COLUMNS = ("valor", "codigo", "clave", "value", "code", "categoria", "opcion")
LABEL_COLUMNS = ("etiqueta", "descripcion_del_valor", "descripcion_valor", "significado_del_valor", "label",
                 "descripcion_de_la_categoria", "categoria_descripcion", "valor_descripcion")


@dataclass
class Dictionary:
    """What one source says about a dataset's columns, by align_key of the column name."""

    source: str
    """Where it comes from: the dictionary resource's name, or `DCAT field`."""
    descriptions: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def describe(self, name: str) -> tuple[str | None, dict[str, str]]:
        key = align_key(name)
        return self.descriptions.get(key), self.labels.get(key, {})


def named_dictionary(*names: str | None) -> bool:
    """A resource or sheet named as a data dictionary."""
    return any("diccionario" in normalize(n) or "dictionary" in normalize(n) for n in names if n)


def _pick(columns: list[str], wanted: tuple[str, ...]) -> int | None:
    for want in wanted:
        for i, c in enumerate(columns):
            if c == want:
                return i
    return None


def read_dictionary(source: str, columns: list[str], originals: list[str], rows: list[tuple[Any, ...]],
                    named: bool) -> Dictionary | None:
    """A dictionary from a table (its pack column names, original names and rows), or None when it is not one."""
    name_at, text_at = _pick(columns, FIELD_COLUMNS), _pick(columns, DESCRIPTION_COLUMNS)
    value_at, label_at = _pick(columns, VALUE_COLUMNS), _pick(columns, LABEL_COLUMNS)
    if name_at is None or (text_at is None and label_at is None):
        if not (named and len(columns) == 2):
            return None
        name_at, text_at, value_at, label_at = 0, 1, None, None
        rows = [tuple(originals), *rows]  # no header: the first row is an entry
    found = Dictionary(source)
    current: str | None = None
    for row in rows:
        cell = _text(row[name_at])
        if cell:
            current = cell
        if current is None:
            continue
        key = align_key(current)
        if text_at is not None and cell and _text(row[text_at]):
            found.descriptions.setdefault(key, _text(row[text_at]))
        if value_at is not None and label_at is not None and _text(row[value_at]) and _text(row[label_at]):
            found.labels.setdefault(key, {})[_text(row[value_at])] = _text(row[label_at])
    return found if found.descriptions or found.labels else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def dcat_fields(raw: str | None, url: str | None) -> Dictionary | None:
    """The `field` descriptions of the DCAT distribution (in a dataset's raw data.json entry) whose download or
    access URL is `url`; None when there are none."""
    if not raw or not url:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    dataset = data.get("dcat", data) if isinstance(data, dict) else {}
    distributions = dataset.get("distribution") if isinstance(dataset, dict) else None
    for distribution in distributions if isinstance(distributions, list) else []:
        if not isinstance(distribution, dict) or url not in (distribution.get("downloadURL"),
                                                             distribution.get("accessURL")):
            continue
        found = Dictionary("DCAT field")
        for entry in distribution.get("field") or []:
            if isinstance(entry, dict) and entry.get("title") and entry.get("description"):
                found.descriptions.setdefault(align_key(str(entry["title"])), _text(entry["description"]))
        return found if found.descriptions else None
    return None
