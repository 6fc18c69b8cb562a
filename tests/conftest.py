"""Shared fixtures: one sandbox portal on 127.0.0.1 for the session, reset before each test."""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from harvester.cli import cli
from harvester.config import load_settings
from harvester.harvest import CatalogResult, harvest
from harvester.store import Store
from harvester.sandbox import SandboxPortal

SITE_OF = {"xalapa": "federal"}
KIND_OF = {"zapopan": "dkan", "puebla": "dkan", "mardelplata": "dkan"}
FAST = {"timeout": 5, "connect_timeout": 2, "retries": 2, "backoff": 0.05, "max_retry_after": 2}


REAL_CONNECT = socket.socket.connect


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to loopback: any other address fails loudly."""
    _guard(monkeypatch)


@pytest.fixture(autouse=True)
def _english_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's human output in English, as the tests of each command read it, whatever the machine's
    locale; tests/test_i18n.py asks for Spanish (the default) and checks it. The site has both languages."""
    english(monkeypatch)


def english(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "HARVESTER_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGUAGE", "en")


def _guard(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = REAL_CONNECT

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"test tried to reach {host}")
        return real_connect(self, address)
    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def httpserver(make_httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """pytest-httpserver's server, answering `/robots.txt` 404 as a web server without one does (unless a
    test registers a handler for it). Its own answer to a request it has no handler for is a 500, which
    RFC 9309 reads as "disallow everything": the fetch stage reads robots.txt before any file of a host."""
    from werkzeug import Response

    server = make_httpserver
    server.clear()
    dispatch = server.dispatch

    def answer(request: Any) -> Any:
        registered = [*server.ordered_handlers[:1], *server.oneshot_handlers, *server.handlers]
        if request.path == "/robots.txt" and not any(h.matcher.match(request) for h in registered):
            return Response("no robots.txt here", status=404, content_type="text/plain")
        return dispatch(request)
    monkeypatch.setattr(server, "dispatch", answer)
    return server


@pytest.fixture(scope="session")
def _portal() -> Iterator[SandboxPortal]:
    with SandboxPortal() as portal:
        yield portal


@pytest.fixture
def portal(_portal: SandboxPortal) -> SandboxPortal:
    _portal.reset()
    return _portal


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def make_config(tmp_path: Path, portal: SandboxPortal) -> Callable[..., Path]:
    """Write a catalogs.toml for these catalog ids, pointing at the sandbox."""

    def make(*ids: str, data_dir: Path | None = None, **per_catalog: dict[str, Any]) -> Path:
        lines = ["[harvester]", f"data_dir = {toml_value(str(data_dir or tmp_path / 'data'))}", "",
                 "[defaults]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in FAST.items()]
        for cid in ids:
            site = SITE_OF.get(cid, cid)
            entry: dict[str, Any] = {"title": f"{cid} sandbox", "api_url": portal.api_url(site),
                                     "kind": KIND_OF.get(cid, "ckan")}
            if cid == "xalapa":
                entry["organization"] = "ayuntamiento-de-xalapa"
            entry.update(per_catalog.get(cid, {}))
            lines += ["", f"[catalogs.{cid}]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
        path = tmp_path / "catalogs.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Result]]:
    """`harvester demo` run once for the session (every stage on the bundled sandbox): its folder and output."""
    out = tmp_path_factory.mktemp("demo") / "run"
    with pytest.MonkeyPatch.context() as patch:
        _guard(patch)
        english(patch)
        patch.delenv("HARVESTER_CONFIG", raising=False)
        result = CliRunner().invoke(cli, ["--quiet", "demo", "--out", str(out)], catch_exceptions=False)
    yield out, result


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the harvester CLI in-process, as a user would type it."""
    monkeypatch.delenv("HARVESTER_CONFIG", raising=False)

    def run(*args: str, config: Path | None = None) -> Result:
        argv = (["--config", str(config)] if config else []) + list(args)
        return CliRunner().invoke(cli, argv, catch_exceptions=False)

    return run


# A dataset whose every portal string tries to run script in the report site.
HOSTILE_TITLE = '<script>window.__pwned = "title"</script>Movilidad <b>segura</b> & "mujeres"'
HOSTILE = {
    "name": "hostil/../../../fuera",
    "title": HOSTILE_TITLE,
    "notes": '<img src=x onerror="window.__pwned = \'notes\'"> Notas',
    "organization": {"name": "org-hostil", "title": "<svg onload=\"window.__pwned = 'org'\">Org</svg>"},
    "tags": [{"name": "<iframe src=javascript:window.__pwned=1>"}],
    "license_id": "cc-by",
    "url": "javascript:window.__pwned='url'",
    "resources": [{"id": "0a0a0a0a-0000-4000-8000-000000000001", "name": "<script>window.__pwned='res'</script>",
                   "url": "javascript:window.__pwned='resource-url'", "format": "CSV"}],
}


@pytest.fixture
def hostile_site(portal: SandboxPortal, make_config: Callable[..., Path], run_cli: Callable[..., Result]) -> Path:
    """A nightly run over the Veracruz sandbox with the hostile dataset added: the data folder."""
    portal.add("veracruz", HOSTILE)
    config = make_config("veracruz")
    config.write_text(config.read_text(encoding="utf-8") + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n',
                      encoding="utf-8")
    result = run_cli("--quiet", "nightly", config=config)
    assert result.exit_code == 0, result.output
    return config.parent / "data"


@pytest.fixture(scope="session")
def corpus() -> dict[str, Any]:
    """The real-file corpus (tests/real_files.py), checked against its manifest; a missing or changed
    corpus fails the test that needs it with one line."""
    from real_files import CorpusError, load_corpus
    try:
        return load_corpus()
    except CorpusError as exc:
        pytest.fail(str(exc), pytrace=False)


def harvest_one(config: Path) -> CatalogResult:
    """Harvest the one catalog of `config`: its result."""
    [result] = harvest(load_settings(config, env={}))
    return result


def query_store(config: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of a read query on the store of `config`."""
    with Store(load_settings(config, env={}).paths.database, read_only=True) as store:
        return store.query(sql)
