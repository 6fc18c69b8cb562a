"""`inicio.ipynb`: a starter notebook in every pack that loads each table with pandas and with DuckDB and
draws a first chart. Written as nbformat 4.5 JSON by hand (the pack stage needs no Jupyter library), with fixed
cell ids and no outputs, so the same pack gives the same bytes; the suite runs it with nbclient."""
from __future__ import annotations

import json
from typing import Any

CHART_HINTS = ("alcaldia", "municipio", "sexo", "genero", "delito", "tipo", "linea", "estacion", "categoria")
"""Column names a first chart likes: a place, a sex, a kind of event."""


def _source(text: str) -> list[str]:
    lines = text.strip("\n").split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def _cell(kind: str, number: int, text: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": f"celda-{number}", "metadata": {}, "source": _source(text)}
    if kind == "code":
        cell.update({"execution_count": None, "outputs": []})
    return cell


def chart_column(tables: list[tuple[str, list[tuple[str, str, int | None]]]]) -> tuple[str, str, str] | None:
    """The (table, column, kind) of the first chart: a category column with few values (a place, a sex) in the
    first table that has one, else a numeric column; `tables` is (name, [(column, type, distinct)])."""
    for hint in CHART_HINTS:
        for name, columns in tables:
            for column, kind, distinct in columns:
                if hint in column and kind == "string" and (distinct or 0) <= 60:
                    return name, column, "bar"
    for name, columns in tables:
        for column, kind, _ in columns:
            if kind in ("integer", "number") and not column.startswith(("id", "origen_")):
                return name, column, "hist"
    return None


def notebook(title: str, problem_es: str, problem_en: str,
             tables: list[tuple[str, str, list[tuple[str, str, int | None]]]]) -> str:
    """The notebook's JSON text; `tables` is (name, Parquet path relative to the pack, columns)."""
    paths = "\n".join(f"    {name!r}: {path!r}," for name, path, _ in tables)
    cells = [
        _cell("markdown", 1, f"# {title}\n\n{problem_es}\n\n_{problem_en}_\n\n"
                             "Este cuaderno carga cada tabla del paquete con pandas y con DuckDB y dibuja una primera "
                             "gráfica. Ábrelo desde la carpeta del paquete (donde está `datapackage.json`).\n\n"
                             "_This notebook loads every table of the pack with pandas and with DuckDB and draws a "
                             "first chart. Open it from the pack's folder (where `datapackage.json` is)._"),
        _cell("code", 2, "import duckdb\nimport pandas as pd\n\n# cada tabla del paquete / every table of the pack\n"
                         f"TABLAS = {{\n{paths}\n}}"),
        _cell("markdown", 3, "## Con pandas / With pandas"),
        _cell("code", 4, "tablas = {nombre: pd.read_parquet(ruta) for nombre, ruta in TABLAS.items()}\n"
                         "for nombre, df in tablas.items():\n"
                         "    print(f\"{nombre}: {len(df):,} filas / rows, {len(df.columns)} columnas / columns\")"),
        _cell("markdown", 5, "## Con DuckDB / With DuckDB\n\nCada tabla es una vista con su nombre; se consulta con SQL. "
                             "_Each table is a view under its name, queried with SQL._"),
        _cell("code", 6, "con = duckdb.connect()\nfor nombre, ruta in TABLAS.items():\n"
                         "    con.execute(f\"CREATE VIEW \\\"{nombre}\\\" AS SELECT * FROM read_parquet('{ruta}')\")\n"
                         "filas = {nombre: con.execute(f'SELECT count(*) FROM \"{nombre}\"').fetchone()[0] "
                         "for nombre in TABLAS}\n"
                         "assert all(filas[nombre] == len(df) for nombre, df in tablas.items())\nfilas"),
    ]
    chosen = chart_column([(name, columns) for name, _, columns in tables])
    if chosen:
        name, column, kind = chosen
        plot = (f"tablas[{name!r}][{column!r}].value_counts().head(15).sort_values().plot.barh(\n"
                f"    title={column + ' (' + name + ')'!r}, figsize=(8, 5))" if kind == "bar" else
                f"tablas[{name!r}][{column!r}].dropna().plot.hist(bins=30, title={column + ' (' + name + ')'!r}, "
                "figsize=(8, 5))")
        cells += [_cell("markdown", 7, "## Una primera gráfica / A first chart"),
                  _cell("code", 8, f"import matplotlib.pyplot as plt\n\n{plot}\nplt.tight_layout()\nplt.show()")]
    cells.append(_cell("markdown", 9, "Qué se cambió en cada tabla, sus errores y su diccionario de datos están en "
                                      "`README.md` y en `datapackage.json`. _What was changed in each table, its "
                                      "errors and its data dictionary are in `README.en.md` and `datapackage.json`._"))
    document = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                            "name": "python3"},
                                             "language_info": {"name": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
