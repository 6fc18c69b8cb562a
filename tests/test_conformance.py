"""The DuckDB fast path reports what frictionless reports, file by file, on the conformance corpus:
frictionless-py's own invalid test files (tests/conformance/frictionless/) and the sandbox's delimited
mess cases. bench/conformance.py runs the same comparison against the `frictionless validate` CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.conformance import CORPUS, corpus, key
from harvester.sandbox.files import MESS_CASES
from harvester.validate import validate_file

FILES = sorted(p.name for p in CORPUS.glob("*.csv")) + sorted(f"mess-{n}" for n, k in MESS_CASES.items()
                                                                if k.endswith(".csv"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {p.name if p.parent == CORPUS else p.stem: p for p in corpus(tmp_path_factory.mktemp("corpus"))}


@pytest.mark.parametrize("name", FILES)
def test_fast_path_agrees_with_frictionless(name: str, files: dict[str, Path]) -> None:
    if name not in files:  # a CSV-declared mess case that is not a table (the HTML page)
        assert name == "mess-html_instead_of_file"
        return
    fast, reference = validate_file(files[name], engine="duckdb"), validate_file(files[name], engine="frictionless")
    assert fast["engine"] == "duckdb", fast.get("engine_note")
    assert fast["valid"] == reference["valid"]
    assert key(fast["errors"]) == key(reference["errors"])
    assert fast["rows"] == reference["rows"]


def test_the_corpus_has_errors_of_every_kind(files: dict[str, Path]) -> None:
    kinds = {e["type"] for p in files.values() for e in validate_file(p)["errors"]}
    assert {"blank-label", "duplicate-label", "missing-cell", "extra-cell", "blank-row", "type-error"} <= kinds
