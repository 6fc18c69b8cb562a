"""Issue 13: every code a table's notes can carry (the pack's changes, the validator's error types, the
profiler's alerts) has a sentence in Spanish and in English, and the packs carry them, in the READMEs (Spanish
in README.md, English in README.en.md) and in datapackage.json (both). Issue 14: the sentences are gettext
messages, English msgids translated in the Spanish catalog."""
from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

import harvester.pack
from harvester.alerts import Alert
from harvester.i18n import translations
from harvester.packnotes import ALERTS, CHANGES, VALIDATION, note, rows_where


def _validator_codes() -> set[str]:
    """Every error type the validate stage can record: Frictionless's (it reports them) and the stage's own."""
    import frictionless.errors as errors
    import harvester.tablecheck
    import harvester.validate

    codes = {c.type for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.Error)}
    for module in (harvester.validate, harvester.tablecheck):
        codes |= set(re.findall(r'ValidationError\(\s*"([a-z-]+)"', inspect.getsource(module)))
        codes |= set(re.findall(r'ValidationError\(type="([a-z-]+)"', inspect.getsource(module)))
    return codes


def _change_codes() -> set[str]:
    """The change codes pack.py asks a note for (`note("change", "<code>", ...)`)."""
    tree = ast.parse(inspect.getsource(harvester.pack))
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "note" and len(node.args) >= 2:
            kind, code = node.args[0], node.args[1]
            if isinstance(kind, ast.Constant) and kind.value == "change":
                if isinstance(code, ast.Constant):
                    codes.add(code.value)
    return codes | set(harvester.pack.FORM_CHANGES.values())


def _shown(message: str | tuple[str, str], lang: str, count: int) -> str:
    """The message as `lang` shows it for `count` (the form of its number when it has two)."""
    chosen = translations(lang)
    return chosen.ngettext(*message, count) if isinstance(message, tuple) else chosen.gettext(message)


def test_every_code_the_stages_can_produce_has_a_sentence_in_both_languages():
    validator = _validator_codes()
    assert {"type-error", "extra-cell", "missing-cell", "blank-row", "table-error", "validation-error"} <= validator
    assert validator - set(VALIDATION) == set()
    assert {a.value for a in Alert} - set(ALERTS) == set()
    changes = _change_codes()
    assert {"placeholders_null", "names_normalized", "decimal_comma", "thousands", "day_first"} <= changes
    assert changes - set(CHANGES) == set()
    for kind, table in (("change", CHANGES), ("validation", VALIDATION), ("alert", ALERTS)):
        for code, message in table.items():
            english = message[-1] if isinstance(message, tuple) else message
            filled = note(kind, code, "columna_x", 3, spelled="`N/D`", renames="«Año» → `anio`", files="a, b",
                          file="a", original="Año", other="b", why="nombres distintos", why_en="other names",
                          where=" (fila 2)", where_en=" (row 2)", detail=" («x»)")
            for count in (1, 3):
                assert _shown(message, "es", count) != _shown(message, "en", count), f"no Spanish: {code}"
            assert filled.en == english % {
                "column": "columna_x", "count": "3", "spelled": "`N/D`", "renames": "«Año» → `anio`", "files": "a, b",
                "file": "a", "original": "Año", "other": "b", "why": "other names", "where": " (row 2)",
                "detail": " («x»)"}, code
            assert filled.es != filled.en and filled.es and filled.en, code
            assert not re.search(r"[{}]|%\(", filled.es + filled.en), code
            if "%(why)s" in english:  # the Spanish value in Spanish, its `_en` twin in English
                assert "nombres distintos" in filled.es and "other names" in filled.en, code
                assert "other names" not in filled.es and "nombres distintos" not in filled.en, code
            if "%(where)s" in english:
                assert "(fila 2)" in filled.es and "(row 2)" in filled.en and "row 2" not in filled.es, code
            if re.search(r"[_-]", code):  # a sentence, not the code again
                assert code not in filled.es and code not in filled.en, code
    # numbers in each language's digits: Mexico groups thousands with a comma, as English does
    assert note("validation", "blank-row", None, 12345).es == "12,345 filas están completamente vacías."
    assert note("validation", "blank-row", None, 12345).en == "12,345 rows are completely empty."


def test_a_count_of_one_reads_in_the_singular_in_both_languages():
    assert note("validation", "blank-row", None, 1).es == "1 fila está completamente vacía."
    assert note("validation", "blank-row", None, 1).en == "1 row is completely empty."
    assert note("validation", "blank-row", None, 2).es == "2 filas están completamente vacías."
    assert note("change", "placeholders_null", "edad", 1, spelled="`N/D`").es == (
        "Columna `edad`: 1 celda escrita `N/D` (la forma del portal de decir «sin dato») se convirtió en valor nulo.")
    # every message with a count has both forms, and no singular sentence says a plural noun after «1 »
    counted = [(kind, code, m) for kind, table in (("change", CHANGES), ("validation", VALIDATION))
               for code, m in table.items() if "%(count)s" in (m[-1] if isinstance(m, tuple) else m)]
    assert {code for _, code, m in counted if not isinstance(m, tuple)} == {"stacked"}  # always 2 files or more
    for kind, code, _ in counted:
        if code == "stacked":
            continue
        one = note(kind, code, "c", 1, spelled="`-`", renames="«A» → `a`", where="", where_en="")
        assert not re.search(r"\b1 (filas|celdas|columnas|valores|nombres|problemas)\b", one.es), (code, one.es)
        assert not re.search(r"\b1 (rows|cells|columns|values|names|problems)\b", one.en), (code, one.en)


def test_where_a_validation_error_was_seen_in_both_languages():
    assert rows_where([82], ["a"]) == (" (por ejemplo: fila 82; columna «a»)", " (for example: row 82; column «a»)")
    assert rows_where([9, 3, 3, 1200], ["a", "b", "a", ""]) == (
        " (por ejemplo: filas 3, 9, 1200; columnas «a», «b»)", " (for example: rows 3, 9, 1200; columns «a», «b»)")
    assert rows_where([], []) == ("", "")


@pytest.fixture(scope="module")
def packs(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return out / "packs"


def _resource(latest: Path, dataset: str) -> dict:
    provenance = json.loads((latest / "provenance.json").read_text())["resources"]
    (entry,) = [e for e in provenance if e["dataset"] == dataset]
    package = json.loads((latest / "datapackage.json").read_text())
    (resource,) = [r for r in package["resources"] if r["name"] == entry["resource"]]
    return resource


def test_the_sandbox_packs_explain_changes_errors_and_alerts(packs: Path):
    care = packs / "care-economy" / "latest"
    pension = _resource(care, "adultos-mayores-pension")
    (nulls,) = [c for c in pension["changes"] if c["code"] == "placeholders_null"]
    assert nulls["column"] == "monto_pension" and nulls["count"] == len(range(154, 300, 7))
    assert "`N/D`" in nulls["es"] and "se convirtieron en valores nulos" in nulls["es"] and "became nulls" in nulls["en"]
    assert any(a["code"] == "placeholder_missing" and a["column"] == "monto_pension" for a in pension["alerts"])
    readme = (care / "README.md").read_text(encoding="utf-8")
    english = (care / "README.en.md").read_text(encoding="utf-8")
    assert nulls["es"] in readme and nulls["en"] not in readme
    assert nulls["en"] in english and nulls["es"] not in english
    assert "#### Qué se cambió\n" in readme and "#### What was changed\n" in english
    women = packs / "mobility-and-women" / "latest"
    linea = _resource(women, "linea-mujeres")
    errors = {e["code"]: e for e in linea["validation_errors"]}
    assert set(errors) >= {"missing-cell", "extra-cell"}, errors
    assert errors["extra-cell"]["count"] == 1 and "más celdas que el encabezado" in errors["extra-cell"]["es"]
    assert "82" in errors["extra-cell"]["es"] and "more cells than the header" in errors["extra-cell"]["en"]
    assert any(c["code"] == "rows_left_out" and c["count"] == 1 for c in linea["changes"])
    readme = (women / "README.md").read_text(encoding="utf-8")
    assert errors["extra-cell"]["es"] in readme
    assert errors["extra-cell"]["en"] in (women / "README.en.md").read_text(encoding="utf-8")
    # an alert of the profiler, explained with the values it is about
    spellings = [a for p in ("care-economy", "mobility-and-women")
                 for r in json.loads((packs / p / "latest" / "datapackage.json").read_text())["resources"]
                 for a in r["alerts"] if a["code"] == "category_spellings"]
    assert spellings and all("escrita de varias formas" in a["es"] and "«" in a["es"] for a in spellings)
