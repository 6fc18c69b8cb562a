"""Issue 14, the packs: README.md is Spanish and README.en.md English, both in every pack whoever builds it,
each linking to the other; the Spanish one shows no English message of the catalog (as tests/test_i18n.py
checks the Spanish site), and the pack's files do not change with the builder's language or locale."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harvester.i18n import translations
from harvester.packnotes import CHANGES
from harvester.packstack import ORIGIN_NAMES, TOO_DIFFERENT, WHY
from harvester.packtable import BOTH, KEY_OF, NAME_OF
from harvester.places import MATCHED
from test_i18n import english_fragments, english_on


def visible(markdown: str) -> str:
    """The text a reader of a README reads: not code (fenced blocks, and the content of code spans: column
    names, paths, types as datapackage.json writes them), as `<code>` is left out of the site's pages. A
    span's backticks stay, so a message written around one (`Column `%(column)s`: ...`) is still found."""
    text = re.sub(r"^```.*?^```$", " ", markdown, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "``", text)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def packs(demo) -> list[Path]:
    out, result = demo
    assert result.exit_code == 0, result.output
    found = sorted(p.resolve() for p in (out / "packs").glob("*/latest"))
    assert len(found) >= 2
    return found


def test_no_spanish_pack_readme_shows_an_english_message(packs: list[Path]):
    messages = english_fragments()
    found = {}
    for pack in packs:
        if english := english_on(visible((pack / "README.md").read_text(encoding="utf-8")), messages):
            found[pack.parent.name] = english
    assert found == {}


def test_the_english_pack_readme_shows_the_english_messages(packs: list[Path]):
    """The check above can fail: in README.en.md it finds the messages it looks for, the notes' too."""
    messages = english_fragments()
    care = next(p for p in packs if p.parent.name == "care-economy")
    english = set(english_on(visible((care / "README.en.md").read_text(encoding="utf-8")), messages))
    assert {"Load a table", "Allies", "Tables", "Data dictionary", "What was changed", "Profile alerts",
            "Validation errors left in the source", "original name", "placeholders (now null)",
            "Retrieved: %(when)s (when this content was first fetched)", CHANGES["placeholders_null"][1]} <= english
    assert english_on(visible("- Column `monto`: it holds no value at all."), messages) == \
        ["Column", "Column `%(column)s`: it holds no value at all."]
    spanish = visible((care / "README.md").read_text(encoding="utf-8"))
    for message in ("Load a table", "Allies", "Data dictionary", "What was changed"):
        assert translations("es").gettext(message) in spanish, message


def test_the_pack_s_own_texts_on_places_stacks_and_fields_are_in_each_readme_s_language(packs: list[Path]):
    """The keying of place columns, why a stack's columns line up or a file stays apart: English in README.en.md,
    Spanish in README.md (where the check above finds no English message)."""
    messages = english_fragments()
    women = next(p for p in packs if p.parent.name == "mobility-and-women")
    english = set(english_on(visible((women / "README.en.md").read_text(encoding="utf-8")), messages))
    assert {MATCHED[1], KEY_OF, NAME_OF, WHY["lost_letter"], TOO_DIFFERENT[1], CHANGES["not_stacked"],
            CHANGES["column_mapped"], ORIGIN_NAMES["origen_archivo"]} <= english
    spanish = (women / "README.md").read_text(encoding="utf-8")
    es = translations("es")
    for message in (KEY_OF, NAME_OF):
        assert es.gettext(message).split("«")[0] in spanish, message
    for message in (WHY["lost_letter"], ORIGIN_NAMES["origen_archivo"]):
        assert es.gettext(message) in spanish, message
    assert " filas con valor coinciden (" in es.ngettext(*MATCHED, 2) and " filas con valor coinciden (" in spanish
    assert es.ngettext(*TOO_DIFFERENT, 2).split("%(shared)s")[1].split("%(wider)s")[1].split("%(needed)s")[0] in spanish


def test_datapackage_json_carries_the_spanish_text_first_and_the_english_text_after_it(packs: list[Path]):
    """A field's `description` and `title` and each note are Spanish, then English: the Spanish part holds no
    English message, the English part the English ones."""
    messages = english_fragments()
    english: set[str] = set()
    for pack in packs:
        package = json.loads((pack / "datapackage.json").read_text(encoding="utf-8"))
        for resource in package["resources"]:
            for f in resource["schema"]["fields"]:
                for text in (f.get("description"), f["title"]):
                    if text and BOTH in text:
                        assert english_on(visible(text.split(BOTH)[0]), messages) == [], (resource["name"], text)
                        english |= set(english_on(visible(text.split(BOTH)[-1]), messages))
            for kind in ("changes", "validation_errors", "alerts"):
                for n in resource[kind]:
                    assert english_on(visible(n["es"]), messages) == [], (resource["name"], n)
                    english |= set(english_on(visible(n["en"]), messages))
    assert {MATCHED[1], KEY_OF, NAME_OF, WHY["lost_letter"], TOO_DIFFERENT[1], ORIGIN_NAMES["origen_archivo"],
            CHANGES["not_stacked"]} <= english


def test_each_readme_links_to_the_other_and_has_the_same_tables(packs: list[Path]):
    for pack in packs:
        spanish = (pack / "README.md").read_text(encoding="utf-8")
        english = (pack / "README.en.md").read_text(encoding="utf-8")
        assert spanish.startswith("[English](README.en.md)\n\n# ") and english.startswith("[Español](README.md)\n\n# ")
        titles = re.findall(r"^### .*", spanish, re.MULTILINE)  # the tables' titles are the portals'
        assert titles and titles == re.findall(r"^### .*", english, re.MULTILINE)
        assert re.findall(r"^\| `\w+` \|", spanish, re.MULTILINE) == re.findall(r"^\| `\w+` \|", english, re.MULTILINE)
        paths = re.findall(r"`data/[^`]+\.parquet`", spanish)
        assert paths and paths == re.findall(r"`data/[^`]+\.parquet`", english)
        sums = (pack / "SHA256SUMS").read_text(encoding="utf-8")
        assert "  README.md\n" in sums and "  README.en.md\n" in sums


def test_a_pack_is_the_same_bytes_whatever_the_builder_s_language(demo, tmp_path: Path, monkeypatch, run_cli):
    """The demo built its packs with `LANGUAGE=en`; built again in Spanish, with a Spanish locale, every
    file is the same, the READMEs in both languages included."""
    out, _ = demo
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, symlinks=True)
    theme = "care-economy"
    before = (out / "packs" / theme / "latest").resolve()
    shutil.rmtree(copy / "packs" / theme)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "HARVESTER_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "es_MX.UTF-8")
    result = run_cli("pack", "build", theme, "--lang", "es", config=copy / "catalogs.toml")
    assert result.exit_code == 0, result.output
    after = (copy / "packs" / theme / "latest").resolve()
    assert after.name == before.name
    assert (after / "README.md").read_bytes() == (before / "README.md").read_bytes()
    assert (after / "README.en.md").read_bytes() == (before / "README.en.md").read_bytes()
    assert (after / "SHA256SUMS").read_bytes() == (before / "SHA256SUMS").read_bytes()
