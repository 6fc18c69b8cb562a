"""The sandbox CKAN portal: several sites under path prefixes on one 127.0.0.1 server, with fault switches."""
from __future__ import annotations

import bisect
import copy
import email.utils
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harvester.sandbox import solr
from harvester.sandbox.sites import SANDBOX, Site, build_sites, stamp
from harvester.sandbox.synthetic import generate

FILES = Path(__file__).parent / "files"
HTML_PAGE = ("<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
             "<p>{text}</p></body></html>")


@dataclass
class Faults:
    """Per-site misbehaviour; every switch is off by default and applies to API requests only."""

    rows_max: int = 1000
    fail_status: int | None = None
    fail_count: int = 0
    retry_after: int = 1
    drop_count: int = 0
    delay: float = 0.0
    hang: bool = False
    html_200: bool = False
    search_missing: int | None = None
    mutate_after_pages: int | None = None
    mutate_count: int = 1
    actions: set[str] | None = None


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    action: str
    params: dict[str, Any]
    user_agent: str
    status: int
    time: float


class _SiteState:
    """The datasets of one site and the indexes package_search needs."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.lock = threading.RLock()
        self.faults = Faults()
        self.search_pages = 0
        self.load(site.datasets)

    def load(self, datasets: list[dict[str, Any]]) -> None:
        with self.lock:
            self.datasets: dict[str, dict[str, Any]] = {d["id"]: copy.deepcopy(d) for d in datasets}
            self.by_name = {d["name"]: d["id"] for d in self.datasets.values()}
            self._json: dict[str, bytes] = {}
            self._order: list[tuple[str, str]] | None = None
            self.search_pages = 0

    def find(self, key: str) -> dict[str, Any] | None:
        dataset_id = key if key in self.datasets else self.by_name.get(key)
        return self.datasets.get(dataset_id) if dataset_id else None

    def changed(self, dataset_id: str) -> None:
        self._json.pop(dataset_id, None)
        self._order = None

    def order(self) -> list[tuple[str, str]]:
        """(metadata_modified at ms, id), sorted: the stable order clients page in."""
        if self._order is None:
            self._order = sorted((solr.millis(d.get("metadata_modified")), i) for i, d in self.datasets.items())
        return self._order

    def json_of(self, dataset_id: str, base: str) -> bytes:
        cached = self._json.get(dataset_id)
        if cached is None:
            text = json.dumps(self.datasets[dataset_id], ensure_ascii=False, separators=(", ", ": "))
            cached = text.replace(SANDBOX, base).encode("utf-8")
            self._json[dataset_id] = cached
        return cached


class SandboxPortal:
    """A CKAN-compatible portal on 127.0.0.1 for tests, the demo and benchmarks."""

    def __init__(self, synthetic: int = 0, seed: int = 1, port: int = 0) -> None:
        self._synthetic = synthetic
        self._seed = seed
        self._port = port
        self._sites = build_sites()
        self._sites["synthetic"] = Site("synthetic", "Synthetic catalog", "ckan", "2.10.4",
                                        datasets=generate(synthetic, seed) if synthetic else [])
        self._state = {name: _SiteState(site) for name, site in self._sites.items()}
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle -------------------------------------------------------------------------------

    def start(self) -> "SandboxPortal":
        portal = self

        class Handler(_Handler):
            pass
        Handler.portal = portal
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-portal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SandboxPortal":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the portal first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def sites(self) -> list[str]:
        return list(self._sites)

    def api_url(self, site: str) -> str:
        if self._sites[site].drupal_q:
            return f"{self.base_url}/{site}/?q=api/3/action/"
        return f"{self.base_url}/{site}/api/3/action/"

    # Control ---------------------------------------------------------------------------------

    def faults(self, site: str) -> Faults:
        return self._state[site].faults

    def reset(self) -> None:
        for name, state in self._state.items():
            state.faults = Faults()
            state.load(self._sites[name].datasets)
        self.clear_requests()

    def requests(self, site: str | None = None) -> list[RequestRecord]:
        with self._log_lock:
            return [r for r in self._log if site is None or r.path.startswith(f"/{site}/") or r.path == f"/{site}"]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def record(self, entry: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(entry)

    def datasets(self, site: str) -> list[dict[str, Any]]:
        state = self._state[site]
        with state.lock:
            return [json.loads(state.json_of(i, self.base_url)) for _, i in state.order()]

    def touch(self, site: str, id_or_name: str, **changes: Any) -> dict[str, Any]:
        state = self._state[site]
        with state.lock:
            dataset = state.find(id_or_name)
            if dataset is None:
                raise KeyError(id_or_name)
            dataset.update(changes)
            dataset["metadata_modified"] = stamp(_utcnow())
            if "name" in changes:
                state.by_name = {d["name"]: d["id"] for d in state.datasets.values()}
            state.changed(dataset["id"])
            return copy.deepcopy(dataset)

    def delete(self, site: str, id_or_name: str) -> None:
        state = self._state[site]
        with state.lock:
            dataset = state.find(id_or_name)
            if dataset is None:
                raise KeyError(id_or_name)
            del state.datasets[dataset["id"]]
            state.by_name.pop(dataset["name"], None)
            state.changed(dataset["id"])

    def add(self, site: str, dataset: dict[str, Any]) -> dict[str, Any]:
        state = self._state[site]
        new = copy.deepcopy(dataset)
        now = stamp(_utcnow())
        new.setdefault("id", str(uuid.uuid4()))
        new.setdefault("name", new["id"])
        new.setdefault("type", "dataset")
        new.setdefault("state", "active")
        new.setdefault("metadata_created", now)
        new["metadata_modified"] = now
        new.setdefault("resources", [])
        new.setdefault("tags", [])
        new.setdefault("groups", [])
        with state.lock:
            state.datasets[new["id"]] = new
            state.by_name[new["name"]] = new["id"]
            state.changed(new["id"])
        return copy.deepcopy(new)

    # Actions ---------------------------------------------------------------------------------

    def state(self, site: str) -> _SiteState | None:
        return self._state.get(site)

    def package_search(self, state: _SiteState, params: dict[str, Any]) -> tuple[int, bytes]:
        rows = min(_int(params.get("rows", 10), "rows"), state.faults.rows_max)
        start = _int(params.get("start", 0), "start")
        filters = solr.parse_filters(str(params.get("fq") or ""))
        q_clauses, terms = solr.parse_query(str(params.get("q") or ""))
        sort = solr.parse_sort(params.get("sort"))
        fl = [f for f in str(params.get("fl") or "").replace(",", " ").split() if f]
        with state.lock:
            order = state.order()
            if not terms and sort == [("metadata_modified", False), ("id", False)]:
                low, high = "", "\uffff"
                rest = []
                for c in filters + q_clauses:
                    if c.field == "metadata_modified" and c.low is not None and not c.negate:
                        low = max(low, "" if c.low == "*" else c.low)
                        high = min(high, "\uffff" if c.high == "*" else c.high)
                    else:
                        rest.append(c)
                window = order[bisect.bisect_left(order, (low, "")):bisect.bisect_right(order, (high, "\uffff"))]
                # Datasets without a date sort first with "" and never match a date range.
                hits = [i for m, i in window if m and (not rest or matches(state.datasets[i], rest))]
            else:
                hits = self._ranked(state, filters + q_clauses, terms, sort)
            page = hits[start:start + rows] if rows > 0 else []
            if fl:
                body = ", ".join(json.dumps({k: state.datasets[i].get(k) for k in fl}, ensure_ascii=False)
                                 for i in page).encode("utf-8")
            else:
                body = b", ".join(state.json_of(i, self.base_url) for i in page)
            if page and state.faults.mutate_after_pages is not None:
                state.search_pages += 1
                if state.search_pages == state.faults.mutate_after_pages:
                    for _, first in state.order()[: state.faults.mutate_count]:
                        state.datasets[first]["metadata_modified"] = stamp(_utcnow())
                        state.changed(first)
                    state.faults.mutate_after_pages = None
        head = json.dumps({"count": len(hits), "sort": params.get("sort") or "score desc, metadata_modified desc",
                           "facets": {}, "search_facets": {}}, ensure_ascii=False)[:-1]
        return 200, (head + ', "results": [').encode("utf-8") + body + b"]}"

    @staticmethod
    def _ranked(state: _SiteState, clauses: list[solr.Clause], terms: list[str],
                sort: list[tuple[str, bool]]) -> list[str]:
        scored: list[tuple[dict[str, Any], float]] = []
        for dataset in state.datasets.values():
            if not matches(dataset, clauses):
                continue
            score = 1.0
            if terms:
                title, text = solr.search_text(dataset)
                if not all(t in text for t in terms):
                    continue
                score = sum(text.count(t) + 3 * title.count(t) for t in terms)
            scored.append((dataset, score))
        for name, descending in reversed(sort):
            scored.sort(key=lambda pair: solr.sort_key(pair[0], name, pair[1]), reverse=descending)
        return [d["id"] for d, _ in scored]


def matches(dataset: dict[str, Any], clauses: list[solr.Clause]) -> bool:
    return solr.matches_all(dataset, clauses)


def _utcnow() -> Any:
    from harvester.clock import utcnow
    return utcnow()


class ValidationFailure(ValueError):
    pass


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailure(f"{name}: Invalid integer") from None
    if number < 0:
        raise ValidationFailure(f"{name}: Must be a natural number")
    return number


class _Handler(BaseHTTPRequestHandler):
    portal: SandboxPortal
    protocol_version = "HTTP/1.1"
    server_version = "SandboxCKAN/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    # Plumbing --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, status: int, title: str, text: str = "", headers: dict[str, str] | None = None) -> int:
        self._send(status, HTML_PAGE.format(title=title, text=text).encode(), "text/html; charset=utf-8", headers)
        return status

    def _json(self, status: int, payload: Any) -> int:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json;charset=utf-8")
        return status

    def _envelope(self, site: str, action: str, status: int, result: bytes | None = None,
                  error: dict[str, Any] | None = None) -> int:
        help_url = f"{self.portal.base_url}/{site}/api/3/action/help_show?name={action}"
        if error is not None:
            body = json.dumps({"help": help_url, "success": False, "error": error}, ensure_ascii=False).encode()
        else:
            body = (f'{{"help": "{help_url}", "success": true, "result": '.encode() + (result or b"null") + b"}")
        self._send(status, body, "application/json;charset=utf-8")
        return status

    def _params(self, query: dict[str, list[str]]) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[-1] for k, v in query.items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length)
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype or raw.lstrip().startswith(b"{"):
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()})
        return params

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    # Routing ---------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        parts = [p for p in split.path.split("/") if p]
        if parts and parts[0] == "_sandbox":
            self._control(parts[1:], self._params(query))
            return
        if parts and parts[0] == "files":
            self._file(parts[1:])
            return
        site = parts[0] if parts else ""
        state = self.portal.state(site)
        if state is None:
            self._html(404, "Not Found")
            return
        rest = parts[1:]
        action = None
        if state.site.drupal_q:
            drupal = (query.get("q") or [""])[-1].strip("/")
            if not rest and drupal.startswith("api/3/action/"):
                action = drupal[len("api/3/action/"):]
                query.pop("q", None)
        elif rest[:3] == ["api", "3", "action"] and len(rest) == 4:
            action = rest[3]
        elif rest[:2] == ["api", "action"] and len(rest) == 3:
            action = rest[2]
        if site == "federal" and rest[:1] == ["busca"]:
            if rest[1:2] == ["api"]:
                self._html(301, "Moved", headers={"Location": f"/{site}/busca/not-here"})
            else:
                self._html(404, "Página no encontrada")
            return
        params = self._params(query)
        status = self._api(state, site, action, params) if action else self._html(404, "Page not found")
        self.portal.record(RequestRecord(self.command, split.path, action or "", params,
                                         self.headers.get("User-Agent", ""), status, time.time()))

    def _api(self, state: _SiteState, site: str, action: str, params: dict[str, Any]) -> int:
        faults = state.faults
        applies = faults.actions is None or action in faults.actions
        if applies:
            if faults.hang:
                while faults.hang and not self.portal._stopping.is_set():
                    time.sleep(0.05)
                self.close_connection = True
                return 0
            if faults.delay:
                time.sleep(faults.delay)
            if faults.drop_count > 0:
                faults.drop_count -= 1
                self.close_connection = True
                return 0
            if faults.fail_status and faults.fail_count > 0:
                faults.fail_count -= 1
                if faults.fail_status == 429:
                    return self._html(429, "Too Many Requests", headers={"Retry-After": str(faults.retry_after)})
                return self._html(faults.fail_status, f"Error {faults.fail_status}", "El servidor falló.")
            if faults.html_200:
                return self._html(200, "Acceso denegado", "Su solicitud fue bloqueada por el firewall.")
        if state.site.waf:
            agent = self.headers.get("User-Agent", "")
            if not agent or agent.lower().startswith(("python-requests", "curl")):
                return self._html(403, "403 Forbidden", "Request blocked.")
        if state.site.flavour == "dkan" and action not in ("package_list", "package_show"):
            return self._html(404, "Página no encontrada")
        if action == "package_search" and applies and faults.search_missing:
            if faults.search_missing == 404:
                return self._html(404, "Not Found")
            return self._envelope(site, action, faults.search_missing,
                                  error={"__type": "Bad request", "message": "package_search is disabled"})
        try:
            return self._action(state, site, action, params)
        except solr.QueryError as exc:
            return self._envelope(site, action, 400, error={"__type": "Search Query Error",
                                                            "message": f"Search error: {exc}"})
        except ValidationFailure as exc:
            return self._envelope(site, action, 409, error={"__type": "Validation Error", "message": str(exc)})

    def _action(self, state: _SiteState, site: str, action: str, params: dict[str, Any]) -> int:
        portal = self.portal
        dump = lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8")  # noqa: E731
        if action == "status_show":
            return self._envelope(site, action, 200, dump({
                "ckan_version": state.site.ckan_version, "site_title": state.site.title,
                "site_description": "Sandbox", "site_url": f"{portal.base_url}/{site}",
                "extensions": ["datastore", "harvest", "dcat"]}))
        if action == "package_search":
            status, body = portal.package_search(state, params)
            return self._envelope(site, action, status, body)
        if action == "package_show":
            key = str(params.get("id") or params.get("name_or_id") or "")
            with state.lock:
                dataset = state.find(key)
                body = state.json_of(dataset["id"], portal.base_url) if dataset else None
            if body is None:
                return self._envelope(site, action, 404, error={"__type": "Not Found Error", "message": "Not found"})
            return self._envelope(site, action, 200, b"[" + body + b"]" if state.site.flavour == "dkan" else body)
        if action == "package_list":
            with state.lock:
                names = sorted(d["name"] for d in state.datasets.values() if d.get("type", "dataset") == "dataset")
            offset = _int(params.get("offset", 0), "offset")
            limit = params.get("limit")
            names = names[offset:offset + _int(limit, "limit")] if limit not in (None, "") else names[offset:]
            return self._envelope(site, action, 200, dump(names))
        if action in ("organization_list", "group_list"):
            key = "organization" if action == "organization_list" else "groups"
            found: dict[str, dict[str, Any]] = {}
            with state.lock:
                for d in state.datasets.values():
                    items = [d.get("organization")] if key == "organization" else d.get("groups") or []
                    for item in items:
                        if item and item.get("name"):
                            entry = found.setdefault(item["name"], {**{k: item.get(k) for k in (
                                "id", "name", "title", "description")}, "package_count": 0})
                            entry["package_count"] += 1
            all_fields = str(params.get("all_fields", "")).lower() in ("true", "1")
            result = [found[n] for n in sorted(found)] if all_fields else sorted(found)
            return self._envelope(site, action, 200, dump(result))
        return self._envelope(site, action, 400, error={"__type": "Bad request",
                                                        "message": f"Action name not known: {action}"})

    def _control(self, parts: list[str], params: dict[str, Any]) -> None:
        portal = self.portal
        if parts == ["reset"]:
            portal.reset()
            self._json(200, {"ok": True})
        elif parts == ["requests"]:
            self._json(200, {"count": len(portal.requests(params.get("site") or None))})
        elif len(parts) == 2 and portal.state(parts[0]) is not None:
            site, verb = parts
            if verb == "faults":
                faults = portal.faults(site)
                names = {f.name for f in fields(Faults)}
                for key, value in params.items():
                    if key in names:
                        setattr(faults, key, set(value) if key == "actions" and value is not None else value)
                self._json(200, {"ok": True})
            elif verb == "touch":
                self._json(200, portal.touch(site, params["id"], **(params.get("changes") or {})))
            elif verb == "delete":
                portal.delete(site, params["id"])
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": "unknown control"})
        else:
            self._json(404, {"error": "unknown control"})

    def _file(self, parts: list[str]) -> None:
        path = FILES.joinpath(*parts) if parts and ".." not in parts else None
        if path is None or not path.is_file():
            self._html(404, "Not Found")
            return
        data = path.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-Modified-Since") == modified and not self.headers.get("If-None-Match")):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(200, data, "application/octet-stream", {"ETag": etag, "Last-Modified": modified})
