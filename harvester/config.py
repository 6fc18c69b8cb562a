"""Configuration: `catalogs.toml`, then environment overrides.

File layout (documented in the README)::

    [harvester]
    data_dir = "datasets"          # outputs; relative paths are relative to this file
    # database = "datasets/catalog.duckdb"
    # profiles = "profiles"          # theme profiles (profiles/<name>.toml)
    # language = "es"                # the CLI's human output: es (default) or en

    [defaults]                     # any catalog key, applied to every catalog
    user_agent = "..."

    [catalogs.cdmx]
    title = "Datos Abiertos CDMX"
    api_url = "https://datos.cdmx.gob.mx/api/3/action/"
    kind = "ckan"

Environment overrides, for a deployed job: ``HARVESTER_CONFIG`` (the file), ``HARVESTER_DATA_DIR``,
``HARVESTER_DATABASE``, ``HARVESTER_LANGUAGE``, and ``HARVESTER_<CATALOG>_<KEY>`` for any catalog key (``HARVESTER_FEDERAL_DELAY=12``).
"""
from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from harvester.errors import ConfigError, Text
from harvester.i18n import LANGUAGES, N_, Language
from harvester.model import RecheckRule
from harvester.paths import DataPaths
from harvester.scale import ScaleConfig, parse_scale

DEFAULT_USER_AGENT = "datathon-harvester/0.1 (open-data catalog harvester for civic datathons)"
FETCH_USER_AGENT = ("datathon-harvester/0.1 (open-data catalog harvester for civic datathons; "
                    "contact: datos@infocdmx.org.mx)")
"""The downloads' User-Agent: robots.txt rules are matched on its product token, and a publisher who
sees the requests can write to the contact (set your own in [fetch] user_agent)."""
KINDS = ("ckan", "dkan")
ENV_PREFIX = "HARVESTER_"
GLOBAL_ENV = ("CONFIG", "DATA_DIR", "DATABASE", "PROFILES", "LANGUAGE", "DUCKDB_MEMORY", "STORE_WAIT",
              "CHROMIUM", "SCREENSHOTS", "REAL_FILES", "CKAN_HOME", "CKAN_PYTHON")
"""HARVESTER_<NAME> variables that are not catalog or fetch keys (from CHROMIUM on, the test suite's:
the browser, its screenshots, the real-files corpus, the real CKAN's home and Python)."""
POSITIVE = {"timeout", "connect_timeout", "max_seconds", "max_bytes", "max_member_bytes", "rows",
            "max_answer_seconds", "max_answer_bytes", "workers", "per_host", "max_wait", "batch_size",
            "batch_seconds"}
"""Keys where 0 means nothing sensible (a timeout of 0 fails every request): they must be above 0."""
AT_LEAST_ONE = {"max_ratio"}
"""A compression ratio under 1 would call every archive a bomb."""


@dataclass(frozen=True)
class CatalogConfig:
    """One catalog to harvest. Every field but id, title and api_url has a default."""

    id: str
    """Short name used on the command line and in the store (letters, digits, - and _)."""
    title: str
    """Human name of the catalog."""
    api_url: str
    """The Action API base, ending in /action/ (or the Drupal form ending in ?q=api/3/action/)."""
    kind: str = "ckan"
    """ckan: package_search with fallback; dkan: package_list + package_show only."""
    organization: str = ""
    """Harvest only this organization (its name), e.g. ayuntamiento-de-xalapa."""
    state: str = ""
    """The Mexican state the catalog's data is about (`CDMX`, `09`, `Jalisco`), for the place names a pack keys
    to INEGI's keys when a name exists in several states (Benito Juárez, Cuauhtémoc); "" for a national or
    foreign portal."""
    groups: tuple[str, ...] = ()
    """Harvest only datasets in any of these groups."""
    q: str = ""
    """Extra Solr query for package_search."""
    fq: str = ""
    """Extra Solr filter query for package_search."""
    user_agent: str = DEFAULT_USER_AGENT
    """User-Agent header; some portals (datos.gob.mx) refuse generic ones."""
    delay: float = 0.0
    """Seconds to wait between two requests to this catalog (politeness)."""
    timeout: float = 60.0
    """Read timeout in seconds for one answer."""
    connect_timeout: float = 10.0
    """Connect timeout in seconds."""
    retries: int = 4
    """Retries on 429, 5xx, dropped connections and connect errors, with exponential backoff."""
    backoff: float = 1.0
    """Backoff factor in seconds: waits backoff, 2*backoff, 4*backoff... (Retry-After wins when given)."""
    max_retry_after: float = 120.0
    """Upper bound on a Retry-After wait, in seconds."""
    rows: int = 1000
    """Rows asked per package_search page (servers may cap it lower; that is detected)."""
    safety_margin: float = 3600.0
    """Seconds subtracted from the last harvest window when asking for what changed."""
    cache_seconds: float = 0.0
    """How long API answers are reused from requests-cache; 0 stores them but always revalidates."""
    max_answer_seconds: float = 300.0
    """Longest one API answer may take, start to end (a read timeout applies to each read only)."""
    max_answer_bytes: int = 100_000_000
    """Largest API answer, in bytes once decompressed (a gzip bomb stops here)."""
    enabled: bool = True
    """False keeps the entry but skips it in `harvester harvest` with no arguments."""
    data_json: bool = False
    """List the catalog from its DCAT-US `/data.json` (DKAN, Andino): the whole catalog in one request,
    with dates and the distributions' `field` schemas; package_list + package_show when it has none."""
    dcat: str = ""
    """List the catalog from ckanext-dcat's paged Turtle catalog: `true` (set as "true") for `/catalog.ttl`
    beside the Action API, or the catalog's URL; "" (false) for off. package_search when the portal has none."""

    def dcat_url(self) -> str:
        """The Turtle catalog to page: the configured URL, else `/catalog.ttl` at the portal's root."""
        if self.dcat and self.dcat != "true":
            return self.dcat
        base = self.api_url.rstrip("/")
        for suffix in ("/api/3/action", "/api/action"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        return base + "/catalog.ttl"

    def data_json_url(self) -> str:
        """Where the portal's data.json is: beside the Action API (`?q=data.json` for Drupal's `?q=` URLs)."""
        if "?q=" in self.api_url:
            return self.api_url.split("?q=", 1)[0] + "?q=data.json"
        base = self.api_url.rstrip("/")
        for suffix in ("/api/3/action", "/api/action"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        return base + "/data.json"

    def list_fallback_possible(self) -> bool:
        """package_list + package_show can honour `organization`, not groups, q or fq."""
        return not (self.groups or self.q or self.fq)

    def search_filters(self) -> list[str]:
        """The fq clauses that restrict package_search to this catalog's slice."""
        clauses: list[str] = []
        if self.organization:
            clauses.append(f'organization:"{self.organization}"')
        if self.groups:
            clauses.append("groups:(" + " OR ".join(f'"{g}"' for g in self.groups) + ")")
        if self.fq:
            clauses.append(self.fq)
        return clauses


@dataclass(frozen=True)
class FetchConfig:
    """`[fetch]`: how resource files are downloaded. Environment: HARVESTER_FETCH_<KEY>."""

    max_bytes: int = 2_000_000_000
    """Largest file downloaded, in bytes; larger ones are recorded as too_large."""
    max_member_bytes: int = 2_000_000_000
    """Largest archive member (zip, gzip) once decompressed, in bytes."""
    max_ratio: float = 200.0
    """Largest compression ratio of an archive member before it counts as a bomb."""
    allow_hosts: tuple[str, ...] = ()
    """Hosts fetched even though they resolve to loopback or private addresses (the sandbox)."""
    timeout: float = 60.0
    """Read timeout in seconds."""
    connect_timeout: float = 10.0
    """Connect timeout in seconds."""
    max_seconds: float = 1800.0
    """Longest a single download may take."""
    user_agent: str = FETCH_USER_AGENT
    """User-Agent for downloads (and the product token robots.txt rules are matched against)."""
    workers: int = 32
    """Downloads at once, over all hosts (each host still gets `per_host` at most): threads here, or tasks in
    flight on a Dask cluster."""
    per_host: int = 1
    """Connections at once to one host."""
    delay: float = 0.0
    """Seconds between the end of one request to a host and the start of the next (robots.txt Crawl-delay
    raises it for that host)."""
    max_wait: float = 300.0
    """Longest a host is made to wait: caps Crawl-delay and Retry-After."""
    max_run_seconds: float = 0.0
    """The whole run's deadline (0: none): resources not started by then are left for the next run."""
    recheck_min_hours: float = 20.0
    """The nightly asks a link it checked before again after at least this long (a broken link waits as long
    as it has been failing, an unchanged file a quarter of the time it has been unchanged)..."""
    recheck_max_days: float = 7.0
    """...and at most this long; a changed URL or dataset is asked at once (harvester/model.py RecheckRule)."""
    batch_size: int = 50
    """Results recorded in one store transaction..."""
    batch_seconds: float = 2.0
    """...or after this many seconds, whichever comes first (a killed run loses at most one batch)."""
    hosts: tuple[tuple[str, "HostLimits"], ...] = ()
    """`[fetch.hosts."<host>"]`: per-host `delay` and `per_host`."""

    @property
    def recheck(self) -> RecheckRule:
        return RecheckRule(min_seconds=self.recheck_min_hours * 3600,
                           max_seconds=max(self.recheck_max_days * 86400, self.recheck_min_hours * 3600))

    def host_limits(self, host: str) -> tuple[float, int]:
        """The delay and connection limit for `host` (its own table's values, else the [fetch] ones)."""
        for name, limits in self.hosts:
            if name == host:
                return (self.delay if limits.delay is None else limits.delay,
                        self.per_host if limits.per_host is None else limits.per_host)
        return self.delay, self.per_host


@dataclass(frozen=True)
class HostLimits:
    """`[fetch.hosts."<host>"]`: what differs for one host (None: the [fetch] value)."""

    delay: float | None = None
    per_host: int | None = None


@dataclass(frozen=True)
class Settings:
    """The whole configuration: where outputs go and which catalogs exist."""

    source: Path | None
    paths: DataPaths
    catalogs: dict[str, CatalogConfig] = field(default_factory=dict)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    profiles: Path = Path("profiles")
    """The folder of theme profiles (`[harvester] profiles`, relative to the config file)."""
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    """Where validate and profile run their per-file work (`[scale]`, harvester/scale.py)."""
    language: Language | None = None
    """The CLI's human output (`[harvester] language`, HARVESTER_LANGUAGE): None leaves it to `--lang` and the
    environment's locale (harvester/i18n.py, `choose`). The site is built in every language."""

    def host_limits(self, host: str) -> tuple[float, int]:
        """The fetch delay and connection limit for `host`: its `[fetch.hosts."<host>"]` table when it has
        one; else the [fetch] values, the delay raised to that of a catalog whose API is on this host (a
        portal that asks for 10 s between requests asks it of its files too)."""
        delay, per_host = self.fetch.host_limits(host)
        if any(name == host for name, _ in self.fetch.hosts):
            return delay, per_host
        own = [c.delay for c in self.catalogs.values() if _host(c.api_url) == host]
        return max([delay, *own]), per_host

    def select(self, ids: tuple[str, ...] | list[str] = ()) -> list[CatalogConfig]:
        """Catalogs named by id (in that order), or every enabled one."""
        if not ids:
            return [c for c in self.catalogs.values() if c.enabled]
        unknown = [i for i in ids if i not in self.catalogs]
        if unknown:
            if not self.catalogs:
                raise ConfigError(N_("unknown catalog %(catalog)r (configured: none)"), catalog=unknown[0])
            raise ConfigError(N_("unknown catalog %(catalog)r (configured: %(known)s)"), catalog=unknown[0],
                              known=", ".join(self.catalogs))
        return [self.catalogs[i] for i in ids]


    def harvestable(self, ids: tuple[str, ...] | list[str] = ()) -> list[CatalogConfig]:
        """`select`, but none at all is a one-line error: no catalogs.toml found, none in it, all disabled."""
        chosen = self.select(ids)
        if chosen:
            return chosen
        if self.source is None:
            raise ConfigError(N_("no catalogs.toml in %(folder)s: give --config FILE (or HARVESTER_CONFIG), or try "
                                 "`harvester demo`"), folder=Path.cwd())
        if not self.catalogs:
            raise ConfigError(N_("%(file)s: no catalogs configured ([catalogs.<id>] with an api_url)"), file=self.source)
        raise ConfigError(N_("%(file)s: every catalog is disabled (enabled = false)"), file=self.source)


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


_CATALOG_FIELDS = {f.name: f for f in fields(CatalogConfig)}
_FETCH_FIELDS = {f.name: f for f in fields(FetchConfig)}
_FETCH_ONLY = set(_FETCH_FIELDS) - set(_CATALOG_FIELDS)
_FETCH_ENV = [k for k in _FETCH_FIELDS if k != "hosts"]
"""[fetch] keys an environment variable can set (per-host tables only come from the file)."""
_HOST_KEYS = ("delay", "per_host")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _coerce(value: Any, name: str, where: str) -> Any:
    """Check and convert one catalog value to its field's type."""
    if name == "dcat":
        return _dcat_value(value, where)
    expected = (_FETCH_FIELDS if name in _FETCH_ONLY else _CATALOG_FIELDS)[name].type
    try:
        if expected == "str":
            if not isinstance(value, str):
                raise TypeError
            return value
        if expected == "float":
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
            if not math.isfinite(number) or number < 0 or (name in POSITIVE and number == 0) \
                    or (name in AT_LEAST_ONE and number < 1):
                raise ValueError
            return number
        if expected == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            number = int(value)
            if number < 0 or (name in POSITIVE and number == 0):
                raise ValueError
            return number
        if expected == "bool":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, bool):
                raise TypeError
            return value
        if expected == "tuple[str, ...]":
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError
            return tuple(value)
    except (TypeError, ValueError, OverflowError):
        kind = {"float": N_("a number of at least 1") if name in AT_LEAST_ONE else
                N_("a number above 0") if name in POSITIVE else N_("a non-negative number"),
                "int": N_("a whole number above 0") if name in POSITIVE else N_("a non-negative whole number"),
                "bool": N_("true or false"), "str": N_("a string"),
                "tuple[str, ...]": N_("a list of strings")}[expected]
        raise ConfigError(N_("%(where)s %(key)s: expected %(kind)s, got %(value)r"), where=where, key=name,
                          kind=Text(kind), value=value) from None
    raise AssertionError(f"unhandled field type {expected}")


def _dcat_value(value: Any, where: str) -> str:
    """`dcat`: true or false (also as text, from the environment), or the http(s) URL of a Turtle catalog."""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return "true"
        if lowered in ("", "0", "false", "no", "off"):
            return ""
        if re.fullmatch(r"https?://[^/?#\s]+/[^?#\s]*\.ttl", value.strip()):
            return value.strip()
    raise ConfigError(N_("%(where)s dcat: expected true, false or the URL of the portal's Turtle catalog "
                         "(https://.../catalog.ttl), got %(value)r"), where=where, value=value)


def _check_api_url(url: str, where: str) -> str:
    if not re.match(r"^https?://[^/?#\s]+", url):
        raise ConfigError(N_("%(where)s api_url: expected an http(s) URL, got %(url)r"), where=where, url=url)
    if "action" not in url:
        raise ConfigError(N_("%(where)s api_url: expected the Action API base ending in /api/3/action/ "
                             "(or ?q=api/3/action/), got %(url)r"), where=where, url=url)
    return url if url.endswith(("/", "=")) else url + "/"


def _build_catalog(cid: str, raw: dict[str, Any], defaults: dict[str, Any], name: str) -> CatalogConfig:
    where = f"{name}: [catalogs.{cid}]"
    if not _ID_RE.match(cid):
        raise ConfigError(N_("%(where)s: catalog id %(catalog)r must be lower-case letters, digits, - or _"),
                          where=where, catalog=cid)
    values: dict[str, Any] = {"id": cid}
    for source, label in ((defaults, f"{name}: [defaults]"), (raw, where)):
        for key, value in source.items():
            if key == "id" or key not in _CATALOG_FIELDS:
                raise ConfigError(N_("%(where)s %(key)s: unknown key (known: %(known)s)"), where=label, key=key,
                                  known=", ".join(k for k in _CATALOG_FIELDS if k != "id"))
            values[key] = _coerce(value, key, label)
    for required in ("title", "api_url"):
        if not values.get(required):
            raise ConfigError(N_("%(where)s %(key)s: missing"), where=where, key=required)
    values["api_url"] = _check_api_url(values["api_url"], where)
    if values.get("kind", "ckan") not in KINDS:
        raise ConfigError(N_("%(where)s kind: expected one of %(known)s, got %(value)r"), where=where,
                          known=", ".join(KINDS), value=values["kind"])
    if values.get("kind") == "dkan":
        for key in ("groups", "q", "fq"):
            if values.get(key):
                raise ConfigError(N_("%(where)s %(key)s: a dkan catalog has no package_search; only organization "
                                     "can filter it"), where=where, key=key)
    if values.get("dcat"):
        clash = [k for k in ("groups", "q", "fq") if values.get(k)] + \
            [k for k in ("data_json",) if values.get(k)] + (["kind"] if values.get("kind") == "dkan" else [])
        if clash:
            raise ConfigError(N_("%(where)s dcat: cannot be combined with %(key)s (the DCAT catalog can only be "
                                 "sliced by organization; ckanext-dcat is a CKAN extension)"), where=where, key=clash[0])
    if values.get("state"):
        from harvester.placenames import PlacesError, state_key  # only when a state is given: it reads INEGI's list
        try:
            values["state"] = state_key(values["state"]) or ""
        except PlacesError as exc:
            raise ConfigError(N_("%(where)s state: %(reason)s"), where=where, reason=exc) from None
    return CatalogConfig(**values)


def _env_overrides(catalogs: dict[str, dict[str, Any]], env: dict[str, str]) -> None:
    """Apply HARVESTER_<CATALOG>_<KEY> variables onto the raw catalog tables. A HARVESTER_ variable that
    names nothing (a misspelled key or catalog) is an error, not silently ignored."""
    by_env_name = {cid.upper().replace("-", "_"): cid for cid in catalogs}
    for var in sorted(env):
        if var.startswith(ENV_PREFIX) and not _known_variable(var[len(ENV_PREFIX):], by_env_name):
            catalogs_known: Any = ", ".join(f"{ENV_PREFIX}{p}_<KEY>" for p in sorted(by_env_name)) \
                or Text(N_("no catalogs"))
            raise ConfigError(N_("environment %(variable)s: names no setting (known: %(known)s, %(catalogs)s)"),
                              variable=var, known=", ".join([*(ENV_PREFIX + g for g in GLOBAL_ENV),
                                                             f"{ENV_PREFIX}FETCH_<KEY>"]),
                              catalogs=catalogs_known)
    # Longest catalog names first, so HARVESTER_CDMX_INFO_X is not read as catalog CDMX.
    for prefix in sorted(by_env_name, key=len, reverse=True):
        cid = by_env_name[prefix]
        start = f"{ENV_PREFIX}{prefix}_"
        for var, value in env.items():
            if var.startswith(start):
                key = var[len(start):].lower()
                if key in _CATALOG_FIELDS and key != "id" and not _claimed(var, prefix, by_env_name):
                    catalogs[cid][key] = value


def _known_variable(name: str, by_env_name: dict[str, str]) -> bool:
    """Whether HARVESTER_<name> is a global, a [fetch] key or a key of a configured catalog."""
    if name in GLOBAL_ENV:
        return True
    if name.startswith("FETCH_") and name[len("FETCH_"):].lower() in _FETCH_ENV:
        return True
    return any(name.startswith(prefix + "_") and name[len(prefix) + 1:].lower() in _CATALOG_FIELDS
               and name[len(prefix) + 1:].lower() != "id" for prefix in by_env_name)


def _claimed(var: str, prefix: str, by_env_name: dict[str, str]) -> bool:
    """True when a longer catalog name also matches this variable (it belongs to that one)."""
    return any(len(other) > len(prefix) and var.startswith(f"{ENV_PREFIX}{other}_") for other in by_env_name)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the configuration file (if any) and apply environment overrides."""
    env = dict(os.environ if env is None else env)
    chosen = path or env.get(f"{ENV_PREFIX}CONFIG")
    source: Path | None = None
    data: dict[str, Any] = {}
    if chosen:
        source = Path(chosen)
    elif Path("catalogs.toml").exists():
        source = Path("catalogs.toml")
    if source is not None:
        try:
            with source.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(N_("%(file)s: file not found"), file=source) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(N_("%(file)s: not valid TOML: %(reason)s"), file=source, reason=exc) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(N_("%(file)s: not UTF-8 text (byte %(at)s: %(byte)r); save it as UTF-8"), file=source,
                              at=exc.start, byte=exc.object[exc.start:exc.start + 1]) from None
        except IsADirectoryError:
            raise ConfigError(N_("%(file)s: is a folder, not a file"), file=source) from None
        except OSError as exc:
            raise ConfigError(N_("%(file)s: cannot read: %(reason)s"), file=source, reason=exc.strerror) from None
    name = str(source) if source else "<no config file>"
    base = source.parent if source else Path.cwd()

    top_known = {"harvester", "defaults", "catalogs", "fetch", "scale"}
    for key in data:
        if key not in top_known:
            raise ConfigError(N_("%(file)s: unknown section [%(section)s] (known: %(known)s)"), file=name, section=key,
                              known=", ".join(sorted(top_known)))
    general = data.get("harvester", {})
    defaults = data.get("defaults", {})
    raw_catalogs = data.get("catalogs", {})
    for section, value in (("harvester", general), ("defaults", defaults), ("catalogs", raw_catalogs)):
        if not isinstance(value, dict):
            raise ConfigError(N_("%(file)s: [%(section)s] must be a table"), file=name, section=section)
    for key in general:
        if key not in ("data_dir", "database", "profiles", "language"):
            raise ConfigError(N_("%(file)s: [%(section)s] %(key)s: unknown key (known: %(known)s)"), file=name,
                              section="harvester", key=key, known="data_dir, database, profiles, language")

    catalogs_raw: dict[str, dict[str, Any]] = {}
    for cid, table in raw_catalogs.items():
        if not isinstance(table, dict):
            raise ConfigError(N_("%(file)s: [%(section)s] must be a table"), file=name, section=f"catalogs.{cid}")
        catalogs_raw[cid] = dict(table)
    _env_overrides(catalogs_raw, env)
    catalogs = {cid: _build_catalog(cid, table, defaults, name)
                for cid, table in catalogs_raw.items()}

    def resolve(value: str, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(N_("%(file)s: [%(section)s] %(key)s: expected a path string, got %(value)r"), file=name,
                              section="harvester", key=key, value=value)
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else base / candidate

    data_dir = env.get(f"{ENV_PREFIX}DATA_DIR") or general.get("data_dir", "datasets")
    database = env.get(f"{ENV_PREFIX}DATABASE") or general.get("database")
    paths = DataPaths(resolve(data_dir, "data_dir"),
                      resolve(database, "database") if database else None)
    profiles = resolve(env.get(f"{ENV_PREFIX}PROFILES") or general.get("profiles", "profiles"), "profiles")
    return Settings(source=source, paths=paths, catalogs=catalogs, fetch=_fetch_config(data, env, name),
                    profiles=profiles, scale=parse_scale(data.get("scale"), name),
                    language=_language(env.get(f"{ENV_PREFIX}LANGUAGE"), general.get("language"), name))


def _language(from_env: str | None, from_file: Any, name: str) -> Language | None:
    """`[harvester] language` (HARVESTER_LANGUAGE overrides it): `es` or `en`."""
    for value, where in ((from_env, Text(N_("environment %(variable)s"), variable=f"{ENV_PREFIX}LANGUAGE")),
                         (from_file, f"{name}: [harvester] language")):
        if value is None or value == "":
            continue
        if not isinstance(value, str) or value.strip().lower() not in LANGUAGES:
            raise ConfigError(N_("%(where)s: expected one of %(known)s, got %(value)r"), where=where,
                              known=", ".join(LANGUAGES), value=value)
        return cast(Language, value.strip().lower())
    return None


def _fetch_config(data: dict[str, Any], env: dict[str, str], name: str) -> FetchConfig:
    raw = data.get("fetch", {})
    if not isinstance(raw, dict):
        raise ConfigError(N_("%(file)s: [%(section)s] must be a table"), file=name, section="fetch")
    raw = dict(raw)
    for key in _FETCH_ENV:
        value = env.get(f"{ENV_PREFIX}FETCH_{key.upper()}")
        if value is not None:
            raw[key] = value
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FETCH_FIELDS:
            raise ConfigError(N_("%(file)s: [%(section)s] %(key)s: unknown key (known: %(known)s)"), file=name,
                              section="fetch", key=key, known=", ".join(_FETCH_FIELDS))
        if key == "allow_hosts":
            values[key] = tuple(h.lower() for h in _coerce(value, "groups", f"{name}: [fetch]"))
        elif key == "hosts":
            values[key] = _host_tables(value, name)
        else:
            values[key] = _coerce(value, key, f"{name}: [fetch]")
    return FetchConfig(**values)


def _host_tables(raw: Any, name: str) -> tuple[tuple[str, HostLimits], ...]:
    """`[fetch.hosts."<host>"]` tables: each a host name (as in URLs, lower case) with delay and per_host."""
    if not isinstance(raw, dict):
        raise ConfigError(N_('%(file)s: [%(section)s] hosts: expected tables [fetch.hosts."<host>"], got %(value)r'),
                          file=name, section="fetch", value=raw)
    tables: list[tuple[str, HostLimits]] = []
    for host, table in raw.items():
        where = f'{name}: [fetch.hosts."{host}"]'
        if not isinstance(table, dict):
            raise ConfigError(N_("%(where)s: must be a table (delay, per_host), got %(value)r"), where=where,
                              value=table)
        if not re.fullmatch(r"[^\s/@?#\[\]]+|\[[0-9a-fA-F:.]+\]", host) or re.fullmatch(r"[^:\[]+:\d+", host):
            raise ConfigError(N_("%(where)s: expected a host name as in a URL (no scheme, port or path)"), where=where)
        for key in table:
            if key not in _HOST_KEYS:
                raise ConfigError(N_("%(where)s %(key)s: unknown key (known: %(known)s)"), where=where, key=key,
                                  known=", ".join(_HOST_KEYS))
        tables.append((host.lower().strip("[]"), HostLimits(**{k: _coerce(v, k, where) for k, v in table.items()})))
    return tuple(tables)


def with_catalogs(settings: Settings, catalogs: list[CatalogConfig]) -> Settings:
    """A copy of settings holding exactly these catalogs (used by the demo)."""
    return replace(settings, catalogs={c.id: c for c in catalogs})
