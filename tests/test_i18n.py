"""Languages: the Spanish catalog translates every message the code and the templates use, the templates hold
no text outside messages, no page of the Spanish site shows an English message, and dates, numbers, times
and the choice of language follow the rules in harvester/i18n.py."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import click
import jinja2
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from harvester import clihelp, i18n
from harvester.candidates import Gate, gates
from harvester.cli import cli
from harvester.model import CandidateScores, Usefulness
from harvester.report import JINJA_OPTIONS, TEMPLATES
from harvester.themes import Gates, load_theme

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")  # %(name)s, or %(name)r for a value shown as Python writes it
BRACED = re.compile(r"\{(\w+)(?:![rs])?\}")  # click's own messages: str.format's {name} and {name!r}


def spanish() -> list:
    with i18n.catalog_path("es").open("rb") as handle:
        return [m for m in read_po(handle, locale="es_MX") if m.id]


def extracted() -> set:
    """Every msgid of the code and the templates, found as `scripts/update-translations` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        methods, options = parse_mapping_cfg(handle)
    found = set()
    keywords = {**DEFAULT_KEYWORDS, "NP_": (1, 2)}  # harvester.i18n.NP_: a message's singular and plural
    for _, _, message, _, _ in extract_from_dir(str(ROOT), methods, options, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_message_has_a_spanish_translation():
    messages = spanish()
    assert len(messages) > 150
    for m in messages:
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(form.strip() for form in forms), f"untranslated: {m.id!r}"
        assert "fuzzy" not in m.flags, f"fuzzy (check it, then remove the flag): {m.id!r}"
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for form in forms:  # the same values, or formatting the translation fails (or drops one)
            assert set(PLACEHOLDER.findall(form)) | {"num"} >= wanted and set(PLACEHOLDER.findall(form)) <= wanted | {"num"}, m.id
            assert form.count("%") == len(PLACEHOLDER.findall(form)), (m.id, form)  # no stray % for newstyle gettext
        for index, form in enumerate(forms):  # click's messages: the same {values} as the English form
            assert set(BRACED.findall(form)) == set(BRACED.findall(ids[min(index, len(ids) - 1)])), (m.id, form)


def untranslated(messages: list) -> list:
    """The messages (msgids, or NP_'s pairs) that the Spanish catalog lacks or leaves empty or fuzzy."""
    catalog = {m.id: m for m in spanish()}
    missing = []
    for message in messages:
        found = catalog.get(message)
        forms = () if found is None else found.string if isinstance(found.string, tuple) else (found.string,)
        if found is None or "fuzzy" in found.flags or not all(form.strip() for form in forms):
            missing.append(message)
    return missing


def test_every_help_text_and_click_word_has_a_spanish_translation():
    """The help of every command and option of the live CLI (what `--help` shows, whatever the extraction
    found) and click's words that clihelp translates."""
    messages = clihelp.help_messages(cli)
    assert len(messages) > 40 and "Example:" in messages
    assert untranslated(messages + list(clihelp.CLICK_MESSAGES)) == []


def test_the_help_check_finds_an_untranslated_help():
    """The check above can fail: a new command's help and a new option's help, not in the catalog, are found."""
    @click.command(cls=clihelp.Command)
    @click.option("--fresh", help="A brand new option nobody translated.")
    def fresh(fresh: str | None) -> None:
        """A command nobody translated,
        over two lines.

        \b
        Example:
          harvester fresh
        """
    assert untranslated(clihelp.help_messages(fresh)) == ["A command nobody translated, over two lines.",
                                                          "A brand new option nobody translated."]


def test_the_catalog_is_in_sync_with_the_sources():
    """Run `sh scripts/update-translations` when this fails, then translate what it added."""
    catalog = {m.id for m in spanish()}
    found = extracted()
    assert found - catalog == set(), "messages missing from harvester/locale/es/LC_MESSAGES/harvester.po"
    assert catalog - found == set(), "messages the sources no longer use"


def test_the_site_s_messages_come_from_the_catalog_not_from_compiled_files():
    assert not list((ROOT / "harvester" / "locale").rglob("*.mo"))
    assert i18n.translations("es").gettext("Catalog health") == "Salud de los catálogos"
    assert i18n.translations("en").gettext("Catalog health") == "Catalog health"


# --- the templates: every text a reader sees is a message ------------------------------------------------

ALLOWED = {"MQA", "KB"}
"""Words shown as they are in every language (a score's name, a unit)."""
SHOWN_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|alt|placeholder)\s*=\s*"([^"]*)"')


def literal_text(source: str) -> list[str]:
    """The words of a template's own text (outside `{% trans %}` blocks, expressions and statements) that
    a reader sees: between tags, and in the attributes shown on hover or read aloud."""
    env = jinja2.Environment(**JINJA_OPTIONS)
    pieces, in_trans, previous = [], False, None
    for _, kind, value in env.lex(source):
        if kind == "name" and previous == "block_begin":
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        if kind == "data" and not in_trans:
            pieces.append(value)
        elif kind in ("variable_begin", "block_begin"):
            pieces.append("\0")  # a value goes here: it never ends a tag nor starts a word
        if kind != "whitespace":
            previous = kind
    text = "".join(pieces)
    shown = [value for tag in re.findall(r"<[^>]*>", text) for value in SHOWN_ATTRIBUTES.findall(tag)]
    between = re.sub(r"&\w+;", " ", re.sub(r"<[^>]*>", " ", text))
    words = [w for part in shown + [between] for w in re.findall(r"[A-Za-zÀ-ÿ]{2,}", part)]
    return [w for w in words if w not in ALLOWED]


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_hold_no_text_outside_messages(template: str):
    assert literal_text((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_template_check_finds_plain_text():
    """The check above can fail: a heading or a title attribute written as plain English is found."""
    assert literal_text('<h2 class="x">Catalog health</h2><a href="{{ root }}index.html"{% if x %} class="y"{% endif %}>'
                        '<span title="share of {{ what }}">{{ x }}</span></a>'
                        '<p>{% trans %}Fine{% endtrans %} {{ _("Fine too") }} MQA</p>') == \
        ["share", "of", "Catalog", "health"]


# --- the rendered Spanish site shows no English message ---------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
        "rect", "line", "path", "circle"}


class VisibleText(HTMLParser):
    """The text a reader of the page's language sees (and hears: titles and labels): not code (`<code>`:
    names, commands), and not what is marked as being in another language (`lang="en"` on a Spanish page:
    the messages of the libraries and stages that write English, such as frictionless's validation errors)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # each open element, and whether it hides its content
        self.lang: str | None = None

    def hidden(self) -> bool:
        return any(hides for _, hides in self.open)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        hides = tag in ("code", "style", "script") or values.get("lang", self.lang) != self.lang
        if not hides and not self.hidden():
            self.parts += [v for n, v in attrs if n in ("title", "aria-label", "alt", "placeholder") and v]
        if tag not in VOID:
            self.open.append((tag, hides))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        while self.open:  # an element left open inside closes with its parent
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.hidden():
            self.parts.append(data)


def visible(path: Path) -> str:
    parser = VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def english_fragments() -> dict[str, list[str]]:
    """Each English message that Spanish says otherwise → its fixed words (what is left around its values
    and its markup), each of which a page showing the message holds."""
    out = {}
    for m in spanish():
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        for english in ids:
            parts = [p.strip(" ·:;,.()«»") for p in re.split(r"%\(\w+\)[sr]|\{\w+(?:!r)?\}|<[^>]+>", english)]
            parts = [p for p in parts if re.search(r"[A-Za-z]{2,}", p)]
            # a message whose words its translation holds too ("temporal": "cobertura temporal") cannot be
            # told from its translation by its words
            if parts and not all(any(shown([p], form) for form in forms) for p in parts):
                out[english] = parts
    return out


def shown(fragments: list[str], text: str) -> bool:
    return all(re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text) for p in fragments)


def english_on(text: str, messages: dict[str, list[str]]) -> list[str]:
    return sorted(m for m, parts in messages.items() if shown(parts, text))


@pytest.fixture(scope="module")
def site(demo) -> Path:
    out, result = demo
    assert result.exit_code == 0, result.output
    return (out / "site").resolve()


def test_no_page_of_the_spanish_site_shows_an_english_message(site: Path):
    messages = english_fragments()
    pages = sorted(p for p in site.rglob("*.html") if not p.relative_to(site).as_posix().startswith("en/"))
    assert len(pages) > 100
    found = {}
    for page in pages:
        text = visible(page)
        if english := english_on(text, messages):
            found[page.relative_to(site).as_posix()] = english
    assert found == {}


def test_the_english_site_shows_the_english_messages(site: Path):
    """The check above can fail: on the English pages it finds the messages it looks for."""
    messages = english_fragments()
    index = english_on(visible(site / "en" / "index.html"), messages)
    assert {"Catalog health", "Broken links", "Datasets by MQA score (0 to 405 points)", "Theme packs"} <= set(index)
    dataset = english_on(visible(site / "en" / "datasets" / "cdmx" / "afluencia-diaria-del-metro-cdmx.html"), messages)
    assert {"Scorecard", "best resource (of 5)", "links that work (%(ok)s of %(checked)s)", "Columns"} <= set(dataset)
    assert english_on("Catalog health", messages) == ["Catalog", "Catalog health"]
    assert english_on("Salud de los catálogos", messages) == []


# --- what the code's own words and sentences become --------------------------------------------------------

def test_the_code_s_words_are_translated_and_a_portal_s_are_not():
    assert i18n.word("stale", "es") == "desactualizado" and i18n.word("stale", "en") == "stale"
    assert i18n.word("not_found", "es") == "no encontrado" and i18n.word("not_found", "en") == "not found"
    assert i18n.word("high_cardinality", "es") == "alta cardinalidad"
    assert i18n.word("Movilidad", "es") == "Movilidad" and i18n.word(None, "es") == ""
    for value, message in i18n.VOCABULARY.items():
        assert i18n.word(value, "es") != message or message in ("error", "portal", "no"), value


@pytest.mark.parametrize("stars, mqa, valid, validated, errors, age, licence", [
    (0, 100.0, 0, 0, 0, None, None), (2, 300.0, 1, 2, 7, 400, "cc-by"), (3, 50.0, 2, 2, 0, 3, "propietaria"),
])
def test_every_gate_s_why_is_translated(stars, mqa, valid, validated, errors, age, licence):
    theme = replace(load_theme(ROOT / "profiles" / "care-economy.toml"),
                    gates=Gates(min_mqa=200, min_stars=3, require_valid=True, max_errors=5, max_age_days=365,
                                openness="machine-readable"))
    summary = CandidateScores(mqa=mqa, mqa_band="good", stars=stars, errors=errors, validated_tables=validated,
                              valid_tables=valid, link_health=None, age_days=age, freshness="unknown",
                              usefulness=Usefulness((), (), None))
    for gate in gates(theme, summary, licence) + [Gate("x", True, "open licence")]:
        spanish_why = i18n.sentence(gate.why, "es")
        assert spanish_why != gate.why and i18n.sentence(gate.why, "en") == gate.why, gate.why
        assert not re.search(r"\b(wanted|allowed|licence|needs|validated table|stars,)\b", spanish_why), spanish_why
    assert i18n.sentence("matches movilidad, mujeres", "es") == "coincide con movilidad, mujeres"
    assert i18n.sentence("published by Secretaría de Movilidad", "es") == "publicado por Secretaría de Movilidad"
    assert i18n.sentence("Un texto del portal", "es") == "Un texto del portal"


# --- dates, numbers, times and the choice of language ------------------------------------------------------

def test_dates_numbers_and_times_in_mexican_spanish():
    assert i18n.format_number(1234567, "es") == "1,234,567"
    assert i18n.format_number(1234.5, "es") == "1,234.50"
    assert i18n.format_number(None, "es") == "–"
    for value in (0, 7, 999, 1000, -1234567, 10 ** 15, 0.5, 1234.567, -9876543.21, 2.0):
        for lang in i18n.LANGUAGES:  # the fast path is Babel's formatting
            pattern = "#,##0.00" if isinstance(value, float) and not value.is_integer() else "#,##0"
            shown = value if pattern == "#,##0.00" else int(value)
            assert i18n.format_number(value, lang) == format_decimal(shown, format=pattern, locale=i18n.LOCALES[lang])
    assert i18n.format_percent(0.256, "es") == "26 %" or i18n.format_percent(0.256, "es") == "26%"
    assert i18n.format_decimal(12.34, "es", 1) == "12.3"
    assert i18n.format_date(date(2026, 11, 23), "es") == "23 nov 2026"
    assert i18n.format_date("2026-11-23T10:00:00", "es", "long") == "23 de noviembre de 2026"
    assert i18n.format_date("2026-11-23", "en", "long") == "November 23, 2026"
    assert i18n.format_date("no es fecha", "es") == "no es fecha"
    # UTC 02:30 on the 24th is still the 23rd in Mexico City (UTC-6, no daylight saving time since 2022)
    moment = datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)
    assert i18n.format_datetime(moment, "es") == "23 nov 2026, 20:30 CST"
    assert i18n.format_datetime("2026-11-24T02:30:00", "en") == "Nov 23, 2026, 20:30 CST"
    assert i18n.local_day("2026-11-24T02:30:00+00:00") == "2026-11-23"  # the day of the index's "last change"
    assert i18n.local_day("2026-11-24T12:00:00") == "2026-11-24"


@pytest.mark.parametrize("option, configured, env, wanted", [
    (None, None, {}, "es"),
    (None, None, {"LANG": "C.UTF-8"}, "es"),
    (None, None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, None, {"LANGUAGE": "fr:en", "LANG": "es_MX.UTF-8"}, "en"),
    (None, None, {"LC_ALL": "es_MX.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
    (None, "es", {"LANG": "en_US.UTF-8"}, "es"),
    ("en", "es", {"LANG": "es_MX.UTF-8"}, "en"),
    ("es", None, {"LANG": "en_US.UTF-8"}, "es"),
])
def test_the_language_is_the_option_then_the_config_then_the_locale_then_spanish(option, configured, env, wanted):
    assert i18n.choose(option, configured, env) == wanted


# --- the CLI's human output ----------------------------------------------------------------------------------

def test_the_cli_speaks_spanish_by_default_and_english_on_request(demo, tmp_path: Path, monkeypatch, run_cli):
    import shutil
    out, _ = demo
    shutil.copytree(out, tmp_path / "copy", symlinks=True)
    config = tmp_path / "copy" / "catalogs.toml"
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "HARVESTER_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    spanish = run_cli("report", config=config)
    assert spanish.exit_code == 0, spanish.output
    assert re.match(r"Sitio: \d+ páginas y \d+ descargas de paquetes, sin cambios, no se escribió nada \(\d+\.\d s\)\n",
                    spanish.stdout), spanish.stdout
    english = run_cli("report", "--lang", "en", config=config)  # --lang after the command's name, too
    assert re.match(r"Site: \d+ pages and \d+ pack downloads, unchanged, nothing written \(\d+\.\ds\)\n",
                    english.stdout), english.stdout
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert run_cli("report", config=config).stdout.startswith("Site: ")
    assert run_cli("--lang=es", "report", config=config).stdout.startswith("Sitio: ")
    # the config file's language comes before the locale's, --lang before both
    config.write_text(config.read_text(encoding="utf-8").replace("[harvester]\n", '[harvester]\nlanguage = "es"\n', 1),
                      encoding="utf-8")
    assert run_cli("report", config=config).stdout.startswith("Sitio: ")
    assert run_cli("report", "--lang", "en", config=config).stdout.startswith("Site: ")
    monkeypatch.setenv("HARVESTER_LANGUAGE", "en")  # the environment overrides the file, as for every key
    assert run_cli("report", config=config).stdout.startswith("Site: ")
    # machine output is the same in every language
    monkeypatch.delenv("HARVESTER_LANGUAGE")
    assert json.loads(run_cli("report", "--json", config=config).stdout).keys() == \
        json.loads(run_cli("report", "--json", "--lang", "en", config=config).stdout).keys()


def test_a_wrong_language_is_one_line_naming_the_file_and_key(tmp_path: Path, run_cli):
    config = tmp_path / "catalogs.toml"
    config.write_text('[harvester]\nlanguage = "fr"\n', encoding="utf-8")
    result = run_cli("catalogs", config=config)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {config}: [harvester] language: expected one of es, en, got 'fr'\n"
    assert run_cli("--lang", "fr", "catalogs", config=config).exit_code == 2  # click names the choices
