"""catalogs.toml: every mistake gets one line naming the file, the catalog and the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import load_settings
from harvester.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogs.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '''
[catalogs.cdmx]
title = "CDMX"
api_url = "https://datos.cdmx.gob.mx/api/3/action/"
'''


def test_the_shipped_catalogs_file_loads_with_every_real_portal():
    settings = load_settings(Path(__file__).parents[1] / "catalogs.toml", env={})
    assert set(settings.catalogs) == {"cdmx", "federal", "xalapa", "infocdmx", "veracruz", "zapopan", "puebla",
                                      "mardelplata"}
    assert settings.catalogs["xalapa"].organization == "ayuntamiento-de-xalapa"
    assert settings.catalogs["federal"].delay > 0
    assert not settings.catalogs["federal"].user_agent.startswith(("python-requests", "curl"))
    assert settings.catalogs["mardelplata"].api_url.endswith("?q=api/3/action/")
    assert {c.kind for c in settings.catalogs.values()} == {"ckan", "dkan"}


@pytest.mark.parametrize("text, message", [
    (GOOD + "delay = \"slow\"\n", "catalogs.toml: [catalogs.cdmx] delay: expected a non-negative number, got 'slow'"),
    (GOOD + "colour = 1\n", "catalogs.toml: [catalogs.cdmx] colour: unknown key"),
    (GOOD + 'kind = "socrata"\n', "catalogs.toml: [catalogs.cdmx] kind: expected one of ckan, dkan, got 'socrata'"),
    ('[catalogs.x]\ntitle = "X"\n', "catalogs.toml: [catalogs.x] api_url: missing"),
    ('[catalogs.x]\ntitle = "X"\napi_url = "ftp://x/"\n', "catalogs.toml: [catalogs.x] api_url: expected an http(s) URL"),
    ('[catalogs.x]\ntitle = "X"\napi_url = "https://x.org/"\n', "catalogs.toml: [catalogs.x] api_url: expected the Action API base"),
    (GOOD + "retries = 2.5\n", "catalogs.toml: [catalogs.cdmx] retries: expected a non-negative whole number"),
    (GOOD + "groups = 3\n", "catalogs.toml: [catalogs.cdmx] groups: expected a list of strings"),
    ("[catalogz]\n", "catalogs.toml: unknown section [catalogz]"),
    ("[catalogs.cdmx\n", "catalogs.toml: not valid TOML"),
    ('[catalogs."CDMX!"]\ntitle = "x"\napi_url = "https://x/api/3/action/"\n', "catalog id 'CDMX!'"),
    ("[defaults]\ntimeout = -1\n" + GOOD, "catalogs.toml: [defaults] timeout: expected a number above 0, got -1"),
    # issue 15: nan, inf and 0 were accepted, then failed later with a traceback (or turned a check off)
    ("[defaults]\ntimeout = 0\n" + GOOD, "catalogs.toml: [defaults] timeout: expected a number above 0, got 0"),
    (GOOD + "connect_timeout = nan\n", "catalogs.toml: [catalogs.cdmx] connect_timeout: expected a number above 0, got nan"),
    (GOOD + "delay = inf\n", "catalogs.toml: [catalogs.cdmx] delay: expected a non-negative number, got inf"),
    (GOOD + "safety_margin = -inf\n", "catalogs.toml: [catalogs.cdmx] safety_margin: expected a non-negative number"),
    (GOOD + "rows = 0\n", "catalogs.toml: [catalogs.cdmx] rows: expected a whole number above 0, got 0"),
    (GOOD + "[fetch]\nmax_ratio = nan\n", "catalogs.toml: [fetch] max_ratio: expected a number of at least 1, got nan"),
    (GOOD + "[fetch]\nmax_ratio = 0.5\n", "catalogs.toml: [fetch] max_ratio: expected a number of at least 1, got 0.5"),
    (GOOD + "[fetch]\nmax_seconds = 0\n", "catalogs.toml: [fetch] max_seconds: expected a number above 0, got 0"),
    (GOOD + "[fetch]\nmax_bytes = 0\n", "catalogs.toml: [fetch] max_bytes: expected a whole number above 0, got 0"),
    (GOOD + 'kind = "dkan"\nfq = "tags:x"\n', "catalogs.toml: [catalogs.cdmx] fq: a dkan catalog has no package_search"),
])
def test_bad_files_get_one_line_naming_file_catalog_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), env={})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, GOOD + "[catalogs.cdmx-info]\ntitle = 'I'\napi_url = 'https://i/api/3/action/'\n")
    settings = load_settings(path, env={"HARVESTER_CDMX_DELAY": "2.5", "HARVESTER_CDMX_INFO_DELAY": "7",
                                        "HARVESTER_DATA_DIR": str(tmp_path / "out"),
                                        "HARVESTER_CDMX_ORGANIZATION": "metro"})
    assert settings.catalogs["cdmx"].delay == 2.5
    assert settings.catalogs["cdmx"].organization == "metro"
    assert settings.catalogs["cdmx-info"].delay == 7
    assert settings.paths.database == tmp_path / "out" / "catalog.duckdb"


def test_bad_environment_override_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"\[catalogs.cdmx\] retries: expected a non-negative whole number"):
        load_settings(write(tmp_path, GOOD), env={"HARVESTER_CDMX_RETRIES": "many"})


def test_relative_data_dir_is_relative_to_the_file(tmp_path):
    path = write(tmp_path, '[harvester]\ndata_dir = "out"\n' + GOOD)
    assert load_settings(path, env={}).paths.root == tmp_path / "out"


@pytest.mark.parametrize("var, value", [
    ("HARVESTER_CDMX_TIMEOUTT", "5"),       # a misspelled key
    ("HARVESTER_CDMXX_DELAY", "5"),         # a misspelled catalog
    ("HARVESTER_FETCH_MAXBYTES", "5"),      # a misspelled [fetch] key
    ("HARVESTER_DATADIR", "/tmp"),          # a misspelled global
])
def test_a_misspelled_environment_override_is_an_error_naming_it(tmp_path, var, value):
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, GOOD), env={var: value})
    assert str(error.value).startswith(f"environment {var}: names no setting (known: ")
    assert "HARVESTER_CDMX_<KEY>" in str(error.value) and "\n" not in str(error.value)


def test_environment_overrides_that_name_a_setting_still_apply(tmp_path):
    settings = load_settings(write(tmp_path, GOOD), env={
        "HARVESTER_CDMX_TIMEOUT": "5", "HARVESTER_FETCH_MAX_BYTES": "1000", "HARVESTER_DUCKDB_MEMORY": "1GB",
        "HARVESTER_CHROMIUM": "/usr/bin/chromium", "PATH": "/usr/bin"})
    assert settings.catalogs["cdmx"].timeout == 5.0 and settings.fetch.max_bytes == 1000


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "catalogs.toml"
    path.write_bytes(GOOD.replace("CDMX", "Ciudad de M\xe9xico").encode("latin-1"))
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    assert str(error.value).startswith(f"{path}: not UTF-8 text (byte ") and "\n" not in str(error.value)


def test_a_config_path_that_is_a_folder_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        load_settings(tmp_path, env={})


def test_an_unusable_data_folder_is_one_line_naming_it(tmp_path, run_cli):
    (tmp_path / "data").write_text("a file where the data folder should be", encoding="utf-8")
    config = write(tmp_path, '[harvester]\ndata_dir = "data"\n' + GOOD)
    for command in (["harvest"], ["fetch"], ["validate"]):
        result = run_cli(*command, config=config)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'data'}: not a folder (a file has that name)"]
