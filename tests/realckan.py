"""A real CKAN for a test session: CKAN 2.11 with PostgreSQL, Redis and Solr 9, on 127.0.0.1.

The work is done by scripts/ckan/ (install once per machine, start and stop per session); this
module calls them and hands back the URLs and a sysadmin's API token:

    ckan = realckan.start(tmp_path_factory.mktemp("realckan"))
    try:
        RemoteCKAN(ckan.site_url, apikey=ckan.token).action.organization_create(name="x")
    finally:
        ckan.stop()

start() runs scripts/ckan/install first (a few seconds when already installed, a minute or two
on a new machine), so a test that starts CKAN needs a generous timeout; CI runs install before
pytest. Extra ckan.ini settings go in `settings`; CKAN_ROWS_MAX in the environment sets
ckan.search.rows_max (50 by default, so that paging is exercised).
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "ckan"
_installed = False


class RealCkanError(RuntimeError):
    """A script of scripts/ckan failed; the message is its own one-line account (and log tail)."""


@dataclass
class RealCkan:
    api_url: str
    site_url: str
    token: str
    scratch: Path
    env: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def ckan_ini(self) -> Path:
        return Path(self.env["ckan_ini"])

    @property
    def logs(self) -> Path:
        return Path(self.env["logs"])

    def stop(self) -> None:
        stop(self.scratch)

    def reset(self) -> None:
        """Purges every dataset (public, private, draft, deleted, harvest sources), organization
        and group through the Action API as the sysadmin, so that a test starts on an empty
        portal without a restart. Users and the sysadmin's token stay."""
        from ckanapi import RemoteCKAN  # the harvester's own dependency

        admin = RemoteCKAN(self.site_url, apikey=self.token)
        # Deleted datasets leave Solr's index (ckan.search.remove_deleted_packages), so the
        # database says what there is; the purges go through the API like any client's.
        for dataset_id in self.sql("SELECT id FROM package"):
            admin.action.dataset_purge(id=dataset_id)
        for group_id, is_organization in self.sql('SELECT id, is_organization FROM "group"'):
            purge = admin.action.organization_purge if is_organization == "t" \
                else admin.action.group_purge
            purge(id=group_id)

    def sql(self, query: str) -> list[Any]:
        """Runs a query on CKAN's database (psql) and returns its rows: one value each when the
        query selects one column, else tuples of text."""
        psql = Path((self.scratch / "run" / "pg.bin").read_text().strip()) / "psql"
        out = subprocess.run([str(psql), self.env["sqlalchemy_url"], "-X", "-A", "-t", "-F", "\t",
                              "-c", query], capture_output=True, text=True, check=True).stdout
        rows = [tuple(line.split("\t")) for line in out.splitlines() if line]
        return [row[0] if len(row) == 1 else row for row in rows]

    def __enter__(self) -> "RealCkan":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _run(script: str, *args: str, timeout: float, env: Mapping[str, str] | None = None) -> None:
    try:
        proc = subprocess.run([str(SCRIPTS / script), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        raise RealCkanError(f"scripts/ckan/{script} took more than {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise RealCkanError((proc.stderr or proc.stdout).strip()
                            or f"scripts/ckan/{script} exited {proc.returncode}")


def install(timeout: float = 1800) -> None:
    """scripts/ckan/install, once per process (it is idempotent anyway)."""
    global _installed
    if not _installed:
        _run("install", timeout=timeout)
        _installed = True


def start(scratch: Path, settings: Mapping[str, Any] | None = None, *,
          rows_max: int | None = None, timeout: float = 300) -> RealCkan:
    """Installs if needed, starts everything in `scratch` and returns once CKAN answers."""
    install()
    scratch = Path(scratch)
    args = [f"{key}={value}" for key, value in (settings or {}).items()]
    overrides = {} if rows_max is None else {"CKAN_ROWS_MAX": str(rows_max)}
    # Should the caller never stop it (a crash, an interrupt), nothing is left running at exit.
    atexit.register(_stop_quietly, scratch)
    _run("start", str(scratch), *args, timeout=timeout, env=overrides)
    env = json.loads((scratch / "env.json").read_text())
    return RealCkan(api_url=env["api_url"], site_url=env["site_url"], token=env["token"],
                    scratch=scratch, env=env)


def stop(scratch: Path, timeout: float = 120) -> None:
    """Stops everything started in `scratch`; nothing is left running."""
    _run("stop", str(scratch), timeout=timeout)
    atexit.unregister(_stop_quietly)  # (all of them: the rest are stopped already or stop fast)


def _stop_quietly(scratch: Path) -> None:
    try:
        stop(scratch)
    except RealCkanError:
        pass
