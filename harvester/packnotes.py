"""What a pack tells a team about each table, in one plain sentence each, Spanish first, English too.

Three kinds of note, each from a code to a sentence template:
- CHANGES: what the pack did to the source (placeholders made null, decimal commas and thousands
  separators converted, dates read day first, names normalized, files stacked, rows left out);
- VALIDATION: the validation errors that remain in the source (every error type the validate stage can
  record: Frictionless's and the stage's own);
- ALERTS: the profiler's alerts on a column (`harvester.alerts.Alert`).

A template's fields (`{column}`, `{count}`, ...) are filled by `note()`; a code without a template is a
KeyError, and tests/test_pack_notes.py holds that every code the stages can produce has one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harvester.alerts import Alert

Template = tuple[str, str]
"""(Spanish, English)."""

CHANGES: dict[str, Template] = {
    "placeholders_null": (
        "Columna `{column}`: {count} celdas escritas {spelled} (la forma del portal de decir «sin dato») "
        "se convirtieron en valores nulos.",
        "Column `{column}`: {count} cells written {spelled} (the portal's way of saying «no data») became nulls."),
    "decimal_comma": (
        "Columna `{column}`: los números venían con coma decimal (`12,5`) y se convirtieron a números (12.5).",
        "Column `{column}`: numbers came with a decimal comma (`12,5`) and were converted to numbers (12.5)."),
    "thousands": (
        "Columna `{column}`: los números venían con separador de miles (`1,306,521.00`) y se convirtieron a "
        "números (1306521.0).",
        "Column `{column}`: numbers came with thousands separators (`1,306,521.00`) and were converted to "
        "numbers (1306521.0)."),
    "day_first": (
        "Columna `{column}`: las fechas venían con el día primero (`03/01/2014` es el 3 de enero) y se leyeron así.",
        "Column `{column}`: dates came day first (`03/01/2014` is 3 January) and were read that way."),
    "month_first": (
        "Columna `{column}`: las fechas venían con el mes primero (`1/13/2014`) y se leyeron así.",
        "Column `{column}`: dates came month first (`1/13/2014`) and were read that way."),
    "names_normalized": (
        "Se normalizaron los nombres de {count} columnas (minúsculas, sin acentos, ñ como ni, símbolos como "
        "palabras; el nombre original queda como `title` en datapackage.json): {renames}.",
        "The names of {count} columns were normalized (lower case, no accents, ñ as ni, symbols as words; the "
        "original name stays as the `title` in datapackage.json): {renames}."),
    "name_repaired": (
        "El nombre de la columna «{original}» venía con la codificación rota y se reparó como `{column}`.",
        "The name of column «{original}» came with a broken encoding and was repaired as `{column}`."),
    "stacked": (
        "Esta tabla une {count} archivos del mismo conjunto de datos ({files}); las columnas `origen_archivo` y "
        "`origen_periodo` dicen de qué archivo y periodo viene cada fila.",
        "This table stacks {count} files of the same dataset ({files}); the columns `origen_archivo` and "
        "`origen_periodo` say which file and period each row came from."),
    "column_mapped": (
        "En el archivo «{file}» la columna «{original}» se unió con `{column}` ({why}).",
        "In the file «{file}» the column «{original}» was joined with `{column}` ({why_en})."),
    "column_absent": (
        "El archivo «{file}» no tiene la columna `{column}`: sus filas la tienen vacía.",
        "The file «{file}» has no column `{column}`: its rows leave it empty."),
    "type_widened": (
        "Columna `{column}`: los archivos unidos no la escriben igual, así que se dejó como texto tal como "
        "venía para no perder ningún valor.",
        "Column `{column}`: the stacked files do not write it the same way, so it was kept as the source's "
        "text so that no value is lost."),
    "not_stacked": (
        "No se unió con «{other}» aunque es del mismo conjunto de datos: {why}.",
        "Not stacked with «{other}» although it is of the same dataset: {why_en}."),
    "rows_left_out": (
        "{count} filas del archivo no se pudieron leer con las columnas del encabezado (más celdas que el "
        "encabezado o comillas rotas) y no están en el paquete; el informe de validación las lista.",
        "{count} rows of the file could not be read as the header's columns (more cells than the header, or "
        "broken quoting) and are not in the pack; the validation report lists them."),
}

VALIDATION: dict[str, Template] = {
    "missing-cell": ("{count} filas tienen menos celdas que el encabezado{where}; las que faltan quedan vacías.",
                     "{count} rows have fewer cells than the header{where_en}; the missing ones are empty."),
    "extra-cell": ("{count} filas tienen más celdas que el encabezado{where}.",
                   "{count} rows have more cells than the header{where_en}."),
    "type-error": ("{count} celdas no tienen el tipo del resto de su columna{where}; esas columnas quedaron como "
                   "texto para no perder valores.",
                   "{count} cells do not have the type of the rest of their column{where_en}; those columns were "
                   "kept as text so that no value is lost."),
    "blank-row": ("{count} filas están completamente vacías{where}.",
                  "{count} rows are completely empty{where_en}."),
    "blank-label": ("{count} columnas no tienen nombre en el encabezado{where}; el paquete les da uno "
                    "(`column_N`).",
                    "{count} columns have no name in the header{where_en}; the pack gives them one (`column_N`)."),
    "duplicate-label": ("{count} columnas repiten el nombre de otra{where}; el paquete les añade `_2`, `_3`...",
                        "{count} columns repeat another's name{where_en}; the pack adds `_2`, `_3`... to them."),
    "blank-header": ("El encabezado está vacío.", "The header is empty."),
    "extra-label": ("{count} columnas del encabezado no están en el esquema declarado{where}.",
                    "{count} header columns are not in the declared schema{where_en}."),
    "missing-label": ("Faltan {count} columnas del esquema declarado en el encabezado{where}.",
                      "{count} columns of the declared schema are missing from the header{where_en}."),
    "incorrect-label": ("{count} columnas del encabezado no se llaman como dice el esquema declarado{where}.",
                        "{count} header columns are not named as the declared schema says{where_en}."),
    "header-error": ("El encabezado tiene {count} problemas{where}.", "The header has {count} problems{where_en}."),
    "label-error": ("{count} nombres de columna tienen problemas{where}.",
                    "{count} column names have problems{where_en}."),
    "unmatched-header": ("El encabezado no coincide con ninguna columna del esquema declarado.",
                         "The header matches no column of the declared schema."),
    "row-error": ("{count} filas tienen problemas{where}.", "{count} rows have problems{where_en}."),
    "cell-error": ("{count} celdas tienen problemas{where}.", "{count} cells have problems{where_en}."),
    "duplicate-row": ("{count} filas repiten exactamente otra fila{where}.",
                      "{count} rows exactly repeat another row{where_en}."),
    "constraint-error": ("{count} celdas no cumplen una regla del esquema declarado{where}.",
                         "{count} cells break a rule of the declared schema{where_en}."),
    "required-value": ("{count} celdas obligatorias están vacías{where}.",
                       "{count} required cells are empty{where_en}."),
    "unique-error": ("{count} valores se repiten en una columna que debería tenerlos únicos{where}.",
                     "{count} values repeat in a column that should hold unique ones{where_en}."),
    "primary-key": ("{count} filas repiten la clave primaria de otra{where}.",
                    "{count} rows repeat another row's primary key{where_en}."),
    "foreign-key": ("{count} filas apuntan a valores que no existen en la tabla de referencia{where}.",
                    "{count} rows point to values missing from the reference table{where_en}."),
    "row-constraint": ("{count} filas no cumplen una regla entre columnas{where}.",
                       "{count} rows break a rule between columns{where_en}."),
    "forbidden-value": ("{count} celdas tienen un valor prohibido{where}.",
                        "{count} cells hold a forbidden value{where_en}."),
    "sequential-value": ("{count} celdas rompen una secuencia que debería ser continua{where}.",
                         "{count} cells break a sequence that should be continuous{where_en}."),
    "deviated-value": ("{count} valores se alejan mucho del resto de su columna{where}.",
                       "{count} values are far from the rest of their column{where_en}."),
    "deviated-cell": ("{count} celdas son mucho más largas que las demás de su columna{where}.",
                      "{count} cells are much longer than the others of their column{where_en}."),
    "truncated-value": ("{count} celdas parecen cortadas (llegan justo a un largo máximo){where}.",
                        "{count} cells look cut off (they stop right at a maximum length){where_en}."),
    "ascii-value": ("{count} celdas tienen caracteres fuera de ASCII{where}.",
                    "{count} cells hold characters outside ASCII{where_en}."),
    "encoding-error": ("El archivo tiene bytes que no se pueden leer en su codificación{where}.",
                       "The file has bytes that cannot be read in its encoding{where_en}."),
    "compression-error": ("El archivo comprimido no se pudo descomprimir.",
                          "The compressed file could not be decompressed."),
    "format-error": ("El archivo no tiene el formato que dice tener.", "The file is not in the format it claims."),
    "scheme-error": ("No se pudo abrir el archivo por la forma de su dirección.",
                     "The file could not be opened because of the form of its address."),
    "source-error": ("El contenido del archivo no se pudo leer como tabla.",
                     "The file's content could not be read as a table."),
    "table-error": ("La tabla no se pudo leer{where}.", "The table could not be read{where_en}."),
    "table-dimensions": ("La tabla no tiene las filas o columnas esperadas.",
                         "The table does not have the expected rows or columns."),
    "byte-count": ("El archivo no tiene el tamaño declarado (puede estar dañado).",
                   "The file does not have the declared size (it may be damaged)."),
    "hash-count": ("El archivo no tiene la huella (hash) declarada (puede estar dañado).",
                   "The file does not have the declared hash (it may be damaged)."),
    "field-count": ("La tabla no tiene el número de columnas declarado.",
                    "The table does not have the declared number of columns."),
    "row-count": ("La tabla no tiene el número de filas declarado.",
                  "The table does not have the declared number of rows."),
    "validation-error": ("La validación no pudo terminar{where}.", "The validation could not finish{where_en}."),
    # Frictionless's errors about its own inputs (a descriptor, a schema, a pipeline): the harvester gives it
    # none of these, but a report may still carry one.
    **{code: (f"La validación encontró un problema en su propia configuración ({what}){{where}}.",
              f"The validation found a problem in its own configuration ({what_en}){{where_en}}.")
       for code, what, what_en in [
           ("error", "error general", "general error"), ("catalog-error", "catálogo", "catalog"),
           ("check-error", "comprobación", "check"), ("checklist-error", "lista de comprobaciones", "checklist"),
           ("control-error", "control", "control"), ("data-error", "datos", "data"),
           ("dataset-error", "conjunto de datos", "dataset"), ("detector-error", "detector", "detector"),
           ("dialect-error", "dialecto del CSV", "CSV dialect"), ("field-error", "campo", "field"),
           ("file-error", "archivo", "file"), ("inquiry-error", "consulta", "inquiry"),
           ("inquiry-task-error", "tarea de consulta", "inquiry task"), ("metadata-error", "metadatos", "metadata"),
           ("package-error", "paquete", "package"), ("pipeline-error", "proceso", "pipeline"),
           ("report-error", "informe", "report"), ("report-task-error", "tarea del informe", "report task"),
           ("resource-error", "recurso", "resource"), ("schema-error", "esquema", "schema"),
           ("stats-error", "estadísticas", "stats"), ("step-error", "paso", "step")]},
}

ALERTS: dict[str, Template] = {
    Alert.ALL_MISSING: ("Columna `{column}`: no tiene ningún valor.", "Column `{column}`: it holds no value at all."),
    Alert.CONSTANT: ("Columna `{column}`: todas las filas tienen el mismo valor{detail}.",
                     "Column `{column}`: every row holds the same value{detail}."),
    Alert.PLACEHOLDER_MISSING: (
        "Columna `{column}`: el portal escribe los datos faltantes con un texto de relleno ({detail}); en el "
        "paquete son nulos.",
        "Column `{column}`: the portal writes missing data as a filler text ({detail}); in the pack they are "
        "nulls."),
    Alert.DECIMAL_COMMA: ("Columna `{column}`: usa coma decimal (`12,5`).",
                          "Column `{column}`: it uses a decimal comma (`12,5`)."),
    Alert.MIXED_DATE_FORMATS: (
        "Columna `{column}`: mezcla fechas ISO (`2023-01-05`) con fechas día/mes/año (`05/01/2023`).",
        "Column `{column}`: it mixes ISO dates (`2023-01-05`) with day/month/year dates (`05/01/2023`)."),
    Alert.MOJIBAKE: ("Columna `{column}`: algunos valores tienen los acentos dañados por una codificación "
                     "equivocada (`CuauhtÃ©moc` por `Cuauhtémoc`).",
                     "Column `{column}`: some values have accents garbled by a wrong encoding (`CuauhtÃ©moc` for "
                     "`Cuauhtémoc`)."),
    Alert.ACCENTS_LOST: ("Columna `{column}`: el portal ya perdió los acentos de algunos valores (`R?o`, `Jos�`); "
                         "no se pueden recuperar.",
                         "Column `{column}`: the portal already lost the accents of some values (`R?o`, `Jos�`); "
                         "they cannot be recovered."),
    Alert.MOJIBAKE_NAME: ("Columna `{column}`: su nombre venía con la codificación dañada («{original}»).",
                          "Column `{column}`: its name came with a garbled encoding («{original}»)."),
    Alert.HIGH_CARDINALITY: ("Columna `{column}`: casi cada fila tiene un valor distinto (un identificador o texto "
                             "libre, no una categoría).",
                             "Column `{column}`: nearly every row holds a different value (an identifier or free "
                             "text, not a category)."),
    Alert.CATEGORY_SPELLINGS: ("Columna `{column}`: una misma categoría aparece escrita de varias formas{detail}.",
                               "Column `{column}`: one category is written several ways{detail}."),
    Alert.SIBLING_COLUMNS_DIFFER: ("Columna `{column}`: otros archivos del mismo conjunto de datos no la tienen"
                                   "{detail}.",
                                   "Column `{column}`: other files of the same dataset do not have it{detail}."),
    Alert.UNREADABLE: ("La tabla no se pudo leer para describir sus columnas.",
                       "The table could not be read to describe its columns."),
}


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
    """The note for `code` of this kind, its template filled with `column`, `count` and `values` (a field not
    given is left empty, so `{where}` and `{detail}` are optional)."""
    es, en = TEMPLATES[kind][code]
    fields = _Blank(values, column=column or "", count=f"{count:,}" if count is not None else "")
    return Note(kind=kind, code=code, column=column, es=es.format_map(fields), en=en.format_map(fields), count=count)


def rows_where(rows: list[int], fields: list[str]) -> tuple[str, str]:
    """`{where}` and `{where_en}` of a validation note: the first rows and columns it was seen in."""
    shown = sorted(set(rows))[:5]
    names = list(dict.fromkeys(f for f in fields if f))[:3]
    es, en = [], []
    if shown:
        listed = ", ".join(str(r) for r in shown)
        es.append(f"fila{'s' if len(shown) > 1 else ''} {listed}")
        en.append(f"row{'s' if len(shown) > 1 else ''} {listed}")
    if names:
        listed = ", ".join(f"«{n}»" for n in names)
        es.append(f"columna{'s' if len(names) > 1 else ''} {listed}")
        en.append(f"column{'s' if len(names) > 1 else ''} {listed}")
    return (f" (por ejemplo: {'; '.join(es)})" if es else "", f" (for example: {'; '.join(en)})" if en else "")
