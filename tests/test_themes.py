"""Theme profiles (profiles/*.toml) and `harvester pack candidates`, on the demo's store of the sandbox."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harvester.candidates import find_candidates
from harvester.demo import BUNDLED_PROFILES
from harvester.errors import ConfigError
from harvester.store import Store
from harvester.themes import load_theme

MOBILITY = BUNDLED_PROFILES / "mobility-and-women.toml"


def test_the_bundled_profiles_load():
    themes = {p.stem: load_theme(p) for p in sorted(BUNDLED_PROFILES.glob("*.toml"))}
    assert set(themes) == {"mobility-and-women", "care-economy"}
    mobility = themes["mobility-and-women"]
    assert mobility.terms["metrobus"] == ("metrobus",) and "stc" in mobility.terms["metro"]
    assert mobility.gates.min_mqa == 121 and mobility.gates.openness == "machine-readable"
    assert "cdmx/linea-mujeres" in mobility.include and mobility.problem_en.startswith("Women")


@pytest.mark.parametrize("edit, message", [
    (("min_mqa = 121", 'min_mqa = "alto"'), "gates.min_mqa: expected int, got 'alto'"),
    (("min_mqa = 121", "min_mqa = 500"), "gates.min_mqa: expected a number from 0 to 405, got 500"),
    (("min_terms = 1", "min_term = 1"), "match.min_term: unknown key"),
    (('include = ["cdmx/linea-mujeres", "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico"]',
      'include = ["linea-mujeres"]'),
     "match.include: expected catalog/dataset, got 'linea-mujeres'"),
    (('exclude = ["cdmx/presupuesto-de-egresos"]', 'exclude = ["cdmx/linea-mujeres"]'),
     "match.exclude: cdmx/linea-mujeres is also in match.include"),
    (('name = "mobility-and-women"', 'name = "movilidad"'), "theme.name: 'movilidad' differs from the file name"),
    (('openness = "machine-readable"', 'openness = "abierto"'), "gates.openness: expected one of any, open-licence"),
    (('acoso = ["hostigamiento"]', 'acecho = ["hostigamiento"]'),
     "match.synonyms.acecho: synonyms of a term that is not in match.terms"),
    (("[gates]", "[gate]"), "gate: unknown key"),
    (("[gates]", "[gates"), "not valid TOML"),
    (("[gates]", '[pack]\ncsv_copies = "yes"\n\n[gates]'), "pack.csv_copies: expected bool, got 'yes'"),
    (("[gates]", "[pack]\ncsv_copy = true\n\n[gates]"), "pack.csv_copy: unknown key"),
])
def test_a_wrong_profile_is_one_line_naming_the_file_and_the_key(tmp_path: Path, edit, message):
    path = tmp_path / "mobility-and-women.toml"
    text = MOBILITY.read_text(encoding="utf-8")
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_theme(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def store(demo):
    out, result = demo
    assert result.exit_code == 0, result.output
    with Store(out / "catalog.duckdb", read_only=True) as opened:
        yield opened


def test_candidates_say_why_they_matched_and_which_gates_fail(store):
    found = {c.ref: c for c in find_candidates(store, load_theme(MOBILITY))}
    victims = found["cdmx/mujeres-victimas-de-violencia-en-el-transporte"]
    assert victims.accepted and "mujeres" in victims.matched["title"] and "acoso" in victims.matched["tags"]
    assert "in group movilidad" in victims.reasons
    # an organizer's include comes in whatever it matches, with that reason
    assert "included by the organizers" in found["cdmx/linea-mujeres"].reasons
    # a gate says why it failed
    metrobus = found["cdmx/afluencia-diaria-de-metrobus-cdmx"]
    failed = {g.name: g.why for g in metrobus.gates if not g.passed}
    assert not metrobus.accepted and "min_stars" in failed and "0 stars, at least 3 wanted" in failed["min_stars"]
    # nothing about care shows up for mobility, and the care theme finds the childcare centres
    assert "cdmx/caci" not in found
    care = {c.ref for c in find_candidates(store, load_theme(BUNDLED_PROFILES / "care-economy.toml"))}
    assert {"cdmx/caci", "cdmx/cendi", "federal/guarderias_imss"} <= care
    ranked = list(found.values())
    assert all(c.accepted for c in ranked[:sum(c.accepted for c in ranked)])  # accepted ones first


def test_an_exclude_in_the_profile_changes_the_next_list(store, tmp_path: Path):
    path = tmp_path / "mobility-and-women.toml"
    shutil.copy(MOBILITY, path)
    before = {c.ref: c for c in find_candidates(store, load_theme(path))}
    assert before["cdmx/ecobici-viajes"].accepted
    path.write_text(path.read_text(encoding="utf-8").replace(
        'exclude = ["cdmx/presupuesto-de-egresos"]', 'exclude = ["cdmx/presupuesto-de-egresos", "cdmx/ecobici-viajes"]'),
        encoding="utf-8")
    after = {c.ref: c for c in find_candidates(store, load_theme(path))}
    assert after["cdmx/ecobici-viajes"].excluded and not after["cdmx/ecobici-viajes"].accepted
    assert "excluded by the organizers" in after["cdmx/ecobici-viajes"].reasons


def test_pack_candidates_cli(demo, run_cli):
    out, _ = demo
    config = out / "catalogs.toml"
    result = run_cli("pack", "candidates", "mobility-and-women", "--json", config=config)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["theme"] == "mobility-and-women" and any(c["accepted"] for c in data["candidates"])
    table = run_cli("pack", "candidates", "care-economy", config=config)
    assert table.exit_code == 0 and "candidates pass every gate" in table.stdout and "cdmx/caci" in table.stdout
    missing = run_cli("pack", "candidates", "deportes", config=config)
    assert missing.exit_code == 1
    assert "deportes.toml: no such theme profile (known: care-economy, mobility-and-women)" in missing.output


def test_pack_new_writes_a_commented_profile_that_loads_and_never_overwrites(demo, tmp_path, run_cli):
    out, _ = demo
    copy = tmp_path / "demo"
    shutil.copytree(out, copy, symlinks=True)
    config = copy / "catalogs.toml"
    profiles = copy / "perfiles"
    config.write_text("\n".join(f'profiles = "{profiles.as_posix()}"' if line.startswith("profiles =") else line
                                for line in config.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    made = run_cli("pack", "new", "guarderias", "--title", "Guarderías y estancias", config=config)
    assert made.exit_code == 0, made.output
    path = profiles / "guarderias.toml"
    theme = load_theme(path)
    assert theme.name == "guarderias" and theme.title == "Guarderías y estancias"
    text = path.read_text(encoding="utf-8")
    assert "las compuertas" in text and "the gates still decide" in text  # what include does, said in the file
    listed = run_cli("pack", "candidates", "guarderias", "--json", config=config)
    assert listed.exit_code == 0 and json.loads(listed.stdout)["candidates"]  # usable at once
    path.write_text(text + "\n# mis cambios\n", encoding="utf-8")
    again = run_cli("pack", "new", "guarderias", config=config)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert path.read_text(encoding="utf-8").endswith("# mis cambios\n")  # untouched
    bad = run_cli("pack", "new", "Mal Nombre", config=config)
    assert bad.exit_code == 1 and "lower-case letters, digits and hyphens" in bad.stderr


def test_an_included_dataset_is_always_a_candidate_and_the_gates_still_decide(demo, tmp_path):
    """The decision for issue 14: `include` makes a dataset a candidate whatever it matches; it is packed only
    when it passes the gates, and when it does not the list says which gate failed."""
    out, _ = demo
    text = (BUNDLED_PROFILES / "care-economy.toml").read_text(encoding="utf-8")
    text = text.replace('include = ["federal/encuesta_nacional_uso_del_tiempo_enut_2019"]',
                        'include = ["federal/encuesta_nacional_uso_del_tiempo_enut_2019", '
                        '"cdmx/afluencia-diaria-de-metrobus-cdmx"]')
    path = tmp_path / "care-economy.toml"
    path.write_text(text, encoding="utf-8")
    with Store(out / "catalog.duckdb", read_only=True) as store:
        found = {c.ref: c for c in find_candidates(store, load_theme(path))}
    metrobus = found["cdmx/afluencia-diaria-de-metrobus-cdmx"]  # no care term: in because included
    assert "included by the organizers" in metrobus.reasons
    assert not metrobus.accepted and [g.name for g in metrobus.gates if not g.passed]


def test_the_candidate_list_fits_the_terminal_and_never_cuts_a_reason(demo, run_cli, monkeypatch):
    out, _ = demo
    monkeypatch.setenv("COLUMNS", "90")
    listed = run_cli("pack", "candidates", "mobility-and-women", config=out / "catalogs.toml")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    from rich.cells import cell_len  # what a terminal shows: a combining accent takes no column
    assert max(cell_len(line) for line in lines[1:]) <= 90 and "…" not in listed.stdout
    header = " ".join(lines[1:4]).split()
    assert {"dataset", "title", "(days)", "links", "why", "gates", "failed"} <= set(header)
    found = json.loads(run_cli("pack", "candidates", "mobility-and-women", "--json",
                               config=out / "catalogs.toml").stdout)["candidates"]
    assert len([line for line in lines if line.startswith(("ok ", "-- "))]) == len(found)  # every candidate
    words = {w.strip(";,") for w in listed.stdout.split()}
    for candidate in found:  # each candidate's words are all there, folded inside its columns, never cut
        said = "; ".join(candidate["reasons"]) + " " + "; ".join(g["why"] for g in candidate["gates"]
                                                               if not g["passed"])
        short = {w.strip(";,") for w in said.split() if len(w.strip(";,")) <= 8}  # fit any column unfolded
        assert short <= words, candidate["ref"]
    monkeypatch.setenv("COLUMNS", "400")  # wide enough for every cell on one line: each reason whole
    wide = run_cli("pack", "candidates", "mobility-and-women", config=out / "catalogs.toml").stdout
    for candidate in found:
        assert "; ".join(candidate["reasons"]) in wide, candidate["ref"]
