"""The CLI's help, its errors and its counts follow the language: Spanish by default, English with --lang en
or an English locale (the other tests read the English output: tests/conftest.py sets LANGUAGE=en)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from harvester import clihelp, i18n
from harvester.cli import cli
from harvester.errors import ConfigError, HarvesterError, PortalUnavailable, Text
from harvester.i18n import N_, NP_
from harvester.pack import PackResult
from harvester.validate import ValidationSummary


@pytest.fixture
def no_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language asked for anywhere: the default, Spanish."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "HARVESTER_LANGUAGE", "HARVESTER_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def squeezed(text: str) -> str:
    """Text without its white space: click wraps the help at any space (and after a hyphen)."""
    return "".join(text.split())


def command_at(*names: str) -> click.Command:
    command: click.Command = cli
    for name in names:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def own_messages(command: click.Command) -> list[str]:
    """The msgids a command's own --help shows in full: its help's paragraphs and its options' help."""
    found = clihelp.messages_of(command.help or "")
    return found + [p.help for p in command.params if isinstance(p, click.Option) and p.help]


def differing(messages: list[str]) -> list[tuple[str, str]]:
    """The messages whose Spanish differs from their English, with that Spanish."""
    spanish = i18n.translations("es")
    return [(m, spanish.gettext(m)) for m in messages if spanish.gettext(m) != m]


HELP_CASES = [((), "Cosechar catálogos de datos abiertos"), (("pack", "build"), "Construir paquetes Parquet validados")]


@pytest.mark.parametrize("names, words", HELP_CASES)
def test_help_is_spanish_by_default(names: tuple[str, ...], words: str, run_cli, no_locale, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no catalogs.toml here: nothing configures the language
    result = run_cli(*names, "--help")
    assert result.exit_code == 0, result.output
    shown = squeezed(result.stdout)
    assert result.stdout.startswith("Uso: ") and "Opciones:" in result.stdout, result.stdout
    assert squeezed(words) in shown
    assert squeezed("Mostrar este mensaje y salir.") in shown and squeezed("Ejemplo:") in shown
    pairs = differing(own_messages(command_at(*names)))
    assert len(pairs) >= 2
    for english, spanish in pairs:
        assert squeezed(english) not in shown, english
        assert squeezed(spanish) in shown, spanish
    for english in ("Usage:", "Options:", "Show this message and exit.", "Example:"):
        assert english not in result.stdout
    assert run_cli(*names, "--help", "--lang", "es").stdout == result.stdout
    monkeypatch.setenv("LANGUAGE", "es")
    assert run_cli(*names, "--help").stdout == result.stdout


@pytest.mark.parametrize("names, words", HELP_CASES)
def test_help_is_english_with_lang_en(names: tuple[str, ...], words: str, run_cli, no_locale, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for args in (["--lang", "en", *names, "--help"], [*names, "--help", "--lang=en"]):
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        shown = squeezed(result.stdout)
        assert result.stdout.startswith("Usage: ") and "Options:" in result.stdout
        assert squeezed(words) not in shown
        for english, spanish in differing(own_messages(command_at(*names))):
            assert squeezed(english) in shown, english
            assert squeezed(spanish) not in shown, spanish
    monkeypatch.setenv("LANGUAGE", "en")
    assert run_cli(*names, "--help").stdout.startswith("Usage: ")
    # the config file's language counts for the help too, before the locale
    (tmp_path / "catalogs.toml").write_text('[harvester]\nlanguage = "es"\n', encoding="utf-8")
    assert run_cli(*names, "--help").stdout.startswith("Uso: ")


def test_the_commands_list_their_short_help_in_the_language(run_cli, no_locale):
    spanish = run_cli("--help").stdout
    assert "catalogs  Listar los catálogos configurados." in spanish and "Comandos:" in spanish
    english = run_cli("--lang", "en", "--help").stdout
    assert "catalogs  List the configured catalogs." in english and "Commands:" in english


def test_click_s_own_errors_follow_the_language(run_cli, no_locale):
    spanish = run_cli("serch")
    assert spanish.exit_code == 2
    assert spanish.stderr.splitlines()[-1] == \
        "Error: No existe el comando 'serch'. (¿Quisiste decir alguna de estas: 'fetch', 'search'?)"
    assert "Prueba 'cli --help' para ver la ayuda." in spanish.stderr
    english = run_cli("--lang", "en", "serch")
    assert english.stderr.splitlines()[-1] == "Error: No such command 'serch'. (Did you mean one of: 'fetch', 'search'?)"
    wrong = run_cli("fetch", "--max-duration", "0")
    assert wrong.exit_code == 2 and wrong.stderr.splitlines()[-1] == (
        "Error: Valor inválido para '--max-duration': se esperaba una duración mayor que 0, como 90, 45m o 2h; "
        "se recibió '0'")


# --- typed errors: one line in the reader's language, naming the thing at fault --------------------------------

@pytest.mark.parametrize("text, spanish, english", [
    ('[harvester]\nbogus = 1\n', "[harvester] bogus: clave desconocida (conocidas: data_dir, database, profiles, language)",
     "[harvester] bogus: unknown key (known: data_dir, database, profiles, language)"),
    ('catalogs = 3\n', "[catalogs] debe ser una tabla", "[catalogs] must be a table"),
    ('[catalogs.cdmx]\ntitle = "x"\napi_url = "http://127.0.0.1:9/api/3/action/"\ntimeout = "pronto"\n',
     "[catalogs.cdmx] timeout: se esperaba un número mayor que 0; se recibió 'pronto'",
     "[catalogs.cdmx] timeout: expected a number above 0, got 'pronto'"),
    ('[harvester\n', "no es TOML válido: ", "not valid TOML: "),
])
def test_a_broken_config_is_one_spanish_line_naming_the_file_and_key(text: str, spanish: str, english: str,
                                                                     tmp_path: Path, run_cli, no_locale):
    config = tmp_path / "catalogs.toml"
    config.write_text(text, encoding="utf-8")
    shown = run_cli("catalogs", config=config)
    assert shown.exit_code == 1 and shown.stdout == ""
    (line,) = shown.stderr.splitlines()
    assert line.startswith(f"Error: {config}: {spanish}"), line
    assert " / " not in line
    shown = run_cli("--lang", "en", "catalogs", config=config)
    (line,) = shown.stderr.splitlines()
    assert line.startswith(f"Error: {config}: {english}"), line


def test_an_unknown_catalog_is_one_line_in_each_language(make_config, run_cli, no_locale):
    config = make_config("cdmx")
    spanish = run_cli("harvest", "atlantis", config=config)
    assert spanish.exit_code == 1
    assert spanish.stderr == "Error: catálogo desconocido 'atlantis' (configurados: cdmx)\n"
    english = run_cli("harvest", "atlantis", "--lang", "en", config=config)
    assert english.stderr == "Error: unknown catalog 'atlantis' (configured: cdmx)\n"


def test_a_missing_theme_and_a_missing_store_name_what_is_missing(make_config, run_cli, no_locale, tmp_path: Path):
    config = make_config("cdmx")
    (tmp_path / "profiles").mkdir()
    missing = run_cli("pack", "candidates", "agua", config=config)
    assert missing.stderr == f"Error: {tmp_path / 'profiles' / 'agua.toml'}: no existe ese perfil temático (no hay ninguno)\n"
    nothing = run_cli("search", "agua", config=config)
    assert nothing.stderr == f"Error: {tmp_path / 'data' / 'catalog.duckdb'}: todavía no hay almacén (primero ejecuta " \
                             "`harvester harvest`)\n"
    assert run_cli("search", "agua", "--lang", "en", config=config).stderr == \
        f"Error: {tmp_path / 'data' / 'catalog.duckdb'}: no store yet (run `harvester harvest` first)\n"


def test_a_typed_error_is_english_text_and_translated_with_the_same_values():
    error = ConfigError(N_("%(where)s %(key)s: expected %(kind)s, got %(value)r"), where="f.toml: [fetch]", key="delay",
                        kind=Text(N_("a number above 0")), value="x / y")
    assert str(error) == "f.toml: [fetch] delay: expected a number above 0, got 'x / y'"
    assert error.translated("es") == "f.toml: [fetch] delay: se esperaba un número mayor que 0; se recibió 'x / y'"
    assert error.translated("en") == str(error) and error.args == (str(error),)
    wrapped = ConfigError(N_("%(where)s state: %(reason)s"), where="c.toml: [catalogs.x]",
                          reason=HarvesterError(N_("unknown state: %(state)r (a key '01'-'32' or a name)"), state="Oz"))
    assert wrapped.translated("es") == "c.toml: [catalogs.x] state: entidad desconocida: 'Oz' (una clave '01'-'32' o un nombre)"
    assert str(HarvesterError("a portal's own words, 100% as they are")) == "a portal's own words, 100% as they are"
    answer = PortalUnavailable("http://127.0.0.1:9/a%41b: more than 3 bytes", "http://127.0.0.1:9/a%41b")
    assert str(answer) == answer.translated("es") == "http://127.0.0.1:9/a%41b: more than 3 bytes"
    assert answer.url == "http://127.0.0.1:9/a%41b"
    forms = NP_("pack %(theme)s: no accepted dataset has a validated table (%(accepted)s of %(num)s candidate passes the "
                "gates)", "pack %(theme)s: no accepted dataset has a validated table (%(accepted)s of %(num)s candidates "
                "pass the gates)")
    one = HarvesterError(forms, num=1, theme="agua", accepted=0)
    assert str(one).endswith("(0 of 1 candidate passes the gates)")
    assert one.translated("es").endswith("(0 de 1 candidato pasa los filtros)")
    assert HarvesterError(forms, num=3, theme="agua", accepted=0).translated("es").endswith("(0 de 3 candidatos pasan los filtros)")


# --- counts: one reads singular -----------------------------------------------------------------------------------

def _one_of_each(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The pack and validate stages answer counts of one (the CLI's summary lines are what is tested)."""
    def build_packs(settings: Any, names: list[str]) -> list[PackResult]:
        return [PackResult(name="agua", version="2026-12-01", path=tmp_path / "agua", tables=1, datasets=1,
                           rejected=1, expectations_failed=1, new=True)]

    def validate(settings: Any, catalogs: list[str], progress: Any) -> ValidationSummary:
        return ValidationSummary(validated=1, valid=1, invalid=0, unchanged=1)

    monkeypatch.setattr("harvester.pack.build_packs", build_packs)
    monkeypatch.setattr("harvester.validate.validate", validate)


def test_a_count_of_one_reads_singular_in_both_languages(make_config, run_cli, no_locale, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    config = make_config("cdmx")
    _one_of_each(monkeypatch, tmp_path)
    built = run_cli("pack", "build", "agua", config=config)
    assert built.exit_code == 0, built.output
    assert built.stdout.splitlines()[0] == ("agua 2026-12-01: 1 tabla de 1 conjunto de datos, 1 con expectativas no "
                                            "cumplidas, 1 candidato rechazado por los filtros")
    built = run_cli("pack", "build", "agua", "--lang", "en", config=config)
    assert built.stdout.splitlines()[0] == ("agua 2026-12-01: 1 table from 1 dataset, 1 with unmet expectations, "
                                            "1 candidate rejected by the gates")
    checked = run_cli("validate", config=config)
    assert checked.stdout.splitlines()[0] == \
        "1 tabla validada: 1 válida, 0 inválidas; 1 archivo sin cambios desde la última corrida"
    checked = run_cli("validate", "--lang", "en", config=config)
    assert checked.stdout.splitlines()[0] == "1 table validated: 1 valid, 0 invalid; 1 file unchanged since the last run"


def test_a_failed_catalog_is_reported_in_the_language_and_stored_in_english(make_config, run_cli, no_locale):
    config = make_config("cdmx", cdmx={"api_url": "http://127.0.0.1:9/api/3/action/", "retries": 0})
    spanish = run_cli("harvest", config=config)
    assert spanish.exit_code == 4
    (line,) = [line for line in spanish.stderr.splitlines() if line.startswith("cdmx: ")]
    assert line.startswith("cdmx: no se puede contactar http://127.0.0.1:9/api/3/action/"), line
    english = run_cli("harvest", "--json", config=config)
    assert '"error": "cannot reach http://127.0.0.1:9/api/3/action/' in english.stdout  # machine output: English
    assert '"problem"' not in english.stdout


def test_the_version_is_said_in_the_readers_language(run_cli, no_locale, monkeypatch: pytest.MonkeyPatch):
    from importlib.metadata import version

    installed = version("harvester")
    assert run_cli("--version").stdout == f"harvester, versión {installed}\n"
    assert run_cli("--lang", "en", "--version").stdout == f"harvester, version {installed}\n"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert run_cli("--version").stdout == f"harvester, version {installed}\n"


def test_the_placeholders_of_values_are_in_the_readers_language(run_cli, no_locale):
    """The usage line's and the options' value placeholders (cli.py's own metavars, click's types') follow the
    help's language, and are left as they were once the help is shown."""
    spanish = run_cli("pack", "build", "--help").stdout
    assert spanish.splitlines()[0].endswith(" pack build [OPCIONES] [NOMBRE]...") and spanish.startswith("Uso: ")
    assert "--config ARCHIVO" in run_cli("--help").stdout
    fetch = run_cli("fetch", "--help").stdout
    assert "--max-size ENTERO" in fetch and "--max-duration DURACIÓN" in fetch and "--dask DIRECCIÓN" in fetch
    assert run_cli("show", "--help").stdout.splitlines()[0].endswith(" show [OPCIONES] CATÁLOGO/CONJUNTO")
    english = run_cli("--lang", "en", "pack", "build", "--help").stdout
    assert english.splitlines()[0].endswith(" pack build [OPTIONS] [NAME]...") and english.startswith("Usage: ")
    assert "--max-size INTEGER RANGE" in run_cli("--lang", "en", "fetch", "--help").stdout
    assert run_cli("pack", "build", "--help").stdout == spanish  # nothing stayed translated in between
