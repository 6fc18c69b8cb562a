"""A theme's expectations, run with Great Expectations (1.x API) on each table of a pack.

Columns are chosen by the profile's name patterns (shell-style, without case or accents). Range checks
only go to numeric columns: GX's between-expectation raises instead of counting on text. Alcaldía
names are compared without accents, case or punctuation against the 16 official ones. Great
Expectations is imported here only, lazily: it takes seconds and hundreds of MB to import.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any

from harvester.model import ExpectationCheck, TableExpectations
from harvester.text import normalize
from harvester.themes import Expectations

ALCALDIAS = ["Álvaro Obregón", "Azcapotzalco", "Benito Juárez", "Coyoacán", "Cuajimalpa de Morelos", "Cuauhtémoc",
             "Gustavo A. Madero", "Iztacalco", "Iztapalapa", "La Magdalena Contreras", "Miguel Hidalgo",
             "Milpa Alta", "Tláhuac", "Tlalpan", "Venustiano Carranza", "Xochimilco"]
# Mexico City's bounding box, with a small margin
LATITUDE = (19.04, 19.60)
LONGITUDE = (-99.37, -98.94)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", normalize(str(text))).strip()


OFFICIAL = sorted({_key(a) for a in ALCALDIAS})


def _chosen(columns: list[str], patterns: tuple[str, ...]) -> list[str]:
    keys = [normalize(p) for p in patterns]
    return [c for c in columns if any(fnmatch.fnmatchcase(normalize(c), k) for k in keys)]


def needed_columns(names: list[str], expectations: Expectations, ref: str) -> set[str]:
    """The columns (original names) of a table that the theme's expectations read: the pack gives only these
    to pandas, so a table of millions of rows is not loaded whole."""
    patterns = (expectations.alcaldia_columns + expectations.latitude_columns + expectations.longitude_columns
                + expectations.date_columns + expectations.share_columns + expectations.count_columns)
    return set(_chosen(names, patterns)) | (set(expectations.required.get(ref, ())) & set(names))


def run_expectations(frame: Any, expectations: Expectations, ref: str, name: str) -> TableExpectations:
    """Run the theme's expectations on one table (a pandas DataFrame with the pack's column names, at least
    those of `needed_columns`; the original names are what the patterns see through
    `frame.attrs["original_names"]`). Great Expectations is imported only when there is something to check."""
    import pandas as pd

    original = frame.attrs.get("original_names") or {c: c for c in frame.columns}
    by_original = {o: c for c, o in original.items()}
    names = [o for c, o in original.items() if c in frame.columns]
    data = frame.copy()
    checks: list[tuple[str, str, dict[str, Any]]] = []
    """(label, Great Expectations class name, its arguments)."""
    skipped: list[str] = []

    def numeric(column: str) -> bool:
        return pd.api.types.is_numeric_dtype(data[column])

    for column in expectations.required.get(ref, ()):
        checks.append((f"required column {column}", "ExpectColumnToExist",
                       {"column": by_original.get(column, column)}))
    for column in _chosen(names, expectations.alcaldia_columns):
        helper = f"__alcaldia_{by_original[column]}"
        data[helper] = data[by_original[column]].map(lambda v: None if pd.isna(v) else _key(v))
        checks.append((f"{column}: one of the 16 alcaldías", "ExpectColumnValuesToBeInSet",
                       {"column": helper, "value_set": OFFICIAL}))
    ranges = [(expectations.latitude_columns, LATITUDE, "a latitude inside Mexico City"),
              (expectations.longitude_columns, LONGITUDE, "a longitude inside Mexico City"),
              (expectations.share_columns, (0, 100), "a share between 0 and 100"),
              (expectations.count_columns, (0, None), "a count, not negative")]
    for patterns, (low, high), what in ranges:
        for column in _chosen(names, patterns):
            if numeric(by_original[column]):
                checks.append((f"{column}: {what}", "ExpectColumnValuesToBeBetween",
                               {"column": by_original[column], "min_value": low, "max_value": high}))
            else:
                skipped.append(f"{column}: {what} (not numeric)")
    for column in _chosen(names, expectations.date_columns):
        target = by_original[column]
        if pd.api.types.is_datetime64_any_dtype(data[target]) or data[target].map(
                lambda v: hasattr(v, "isoformat")).all():
            continue  # typed as a date when the pack was built: every value parsed
        checks.append((f"{column}: dates that parse", "ExpectColumnValuesToBeDateutilParseable", {"column": target}))
    if not checks:
        return TableExpectations(table=name, success=True, skipped=tuple(skipped))
    import great_expectations as gx  # seconds and hundreds of MB: only for a table with something to check
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no bar per validation
    batch = context.data_sources.add_pandas("pack").add_dataframe_asset(name).add_batch_definition_whole_dataframe(
        "whole")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}-suite"))
    labels = {}
    for label, kind, arguments in checks:
        labels[suite.add_expectation(getattr(gx.expectations, kind)(**arguments)).id] = label
    definition = context.validation_definitions.add(gx.ValidationDefinition(data=batch, suite=suite, name=name))
    result = definition.run(batch_parameters={"dataframe": data})
    outcomes = []
    for outcome in result.results:
        label = labels.get(outcome.expectation_config.id, outcome.expectation_config.type)
        detail = outcome.result or {}
        outcomes.append(ExpectationCheck(check=label, expectation=outcome.expectation_config.type,
                                         success=bool(outcome.success),
                                         unexpected_count=detail.get("unexpected_count"),
                                         element_count=detail.get("element_count"),
                                         examples=tuple(str(v) for v in (detail.get("partial_unexpected_list")
                                                                         or [])[:5])))
    outcomes.sort(key=lambda o: o.check)
    return TableExpectations(table=name, success=all(o.success for o in outcomes), checks=tuple(outcomes),
                             skipped=tuple(skipped))
