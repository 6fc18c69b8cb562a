"""The theme expectations, run for real with Great Expectations 1.x on a small table."""
from __future__ import annotations

import pandas as pd

from harvester.expectations import run_expectations
from harvester.themes import Expectations

EXPECTATIONS = Expectations(alcaldia_columns=("alcaldia*",), latitude_columns=("latitud",),
                            longitude_columns=("longitud",), date_columns=("fecha*",),
                            share_columns=("porcentaje*",), count_columns=("victimas", "total"),
                            required={"cdmx/prueba": ("alcaldia_hechos", "sexo")})


def table(**changes) -> pd.DataFrame:
    data = {"alcaldia_hechos": ["Cuauhtémoc", "CUAUHTEMOC", "GUSTAVO A. MADERO", "gustavo a madero"],
            "latitud": [19.43, 19.35, 19.48, 19.30], "longitud": [-99.13, -99.10, -99.11, -99.05],
            "fecha_hechos": ["2024-01-05", "05/01/2024", "2024-02-01", "2024-03-01"],
            "porcentaje_mujeres": [10.0, 55.5, 100.0, 0.0], "victimas": [1, 0, 3, 2], "total": ["1", "2", "x", "4"]}
    data.update(changes)
    frame = pd.DataFrame(data)
    frame.attrs["original_names"] = {c: c for c in frame.columns}
    return frame


def outcome(result: dict, check: str) -> dict:
    return next(c for c in result["checks"] if c["check"] == check)


def test_clean_values_meet_every_expectation_but_the_missing_column():
    result = run_expectations(table(), EXPECTATIONS, "cdmx/prueba", "prueba").as_dict()
    failed = [c["check"] for c in result["checks"] if not c["success"]]
    assert failed == ["required column sexo"]  # every spelling of an alcaldía passes
    # a count column holding text is reported as skipped instead of making GX raise
    assert result["skipped"] == ["total: a count, not negative (not numeric)"]


def test_each_kind_of_bad_value_is_caught_with_examples():
    bad = table(alcaldia_hechos=["Cuauhtémoc", "Cuauhtemok", "Coyoacán", "Ecatepec"],
                latitud=[19.43, 20.5, 19.4, 19.4], longitud=[-99.13, -99.1, -96.9, -99.1],
                fecha_hechos=["2024-01-05", "no es fecha", "2024-02-01", "2024-03-01"],
                porcentaje_mujeres=[10.0, 120.0, 50.0, 0.0], victimas=[1, -1, 3, 2])
    result = run_expectations(bad, EXPECTATIONS, "cdmx/otra", "otra").as_dict()
    assert not result["success"]
    assert outcome(result, "alcaldia_hechos: one of the 16 alcaldías")["examples"] == ["cuauhtemok", "ecatepec"]
    assert outcome(result, "latitud: a latitude inside Mexico City")["unexpected_count"] == 1
    assert outcome(result, "longitud: a longitude inside Mexico City")["examples"] == ["-96.9"]
    assert outcome(result, "porcentaje_mujeres: a share between 0 and 100")["examples"] == ["120.0"]
    assert outcome(result, "victimas: a count, not negative")["examples"] == ["-1"]
    assert outcome(result, "fecha_hechos: dates that parse")["examples"] == ["no es fecha"]


def test_a_table_with_nothing_to_check_is_what_the_pack_records_without_loading_it():
    """pack.py records `TableExpectations(table, success=True)` for a table none of whose columns an expectation
    reads (and no required column), without pandas: it is what run_expectations says of such a table."""
    from harvester.expectations import needed_columns
    from harvester.model import TableExpectations

    frame = table()[[]]  # no column read: what the pack would give
    frame.attrs["original_names"] = {c: c for c in table().columns}
    names = list(table().columns)
    assert needed_columns(names, Expectations(), "cdmx/otra") == set()
    assert run_expectations(frame, Expectations(), "cdmx/otra", "t") == TableExpectations(table="t", success=True)
    assert needed_columns(names, EXPECTATIONS, "cdmx/otra")  # with expectations the pack does load the table
