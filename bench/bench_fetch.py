"""Fetch over many hosts: the old one-at-a-time fetch (workers = 1) against the pool with per-host queues,
against the ideal (the busiest host's files one after the other at its latency); and small files on one
fast host against sequential curl over the same URL list.

Every host is a small file server on its own loopback address (127.0.0.2 ... 127.0.0.21, all loopback on
Linux), answering each request after its latency (50 to 200 ms, spread over the hosts); the resources are
harvested from the sandbox portal, spread over the hosts in turn.

    .venv/bin/python bench/bench_fetch.py                    # 20,000 resources (the old fetch: about 40 min)
    .venv/bin/python bench/bench_fetch.py --resources 2000   # a quick run

`FileHost` is also the server of tests/test_fetch_polite.py.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Served:
    """One request a FileHost answered: path, status, and when it started and ended (time.monotonic())."""

    path: str
    status: int
    start: float
    end: float
    user_agent: str


def body_of(path: str) -> bytes:
    """The CSV a FileHost serves at `path` (the same bytes every time)."""
    return f"ruta,valor\n{path},{len(path)}\n".encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing a kept-alive connection is no server error."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class FileHost:
    """A file server on one loopback address, HTTP/1.1 with keep-alive.

    Any path ending in .csv answers a small CSV (ETag, 304 to a matching If-None-Match) after `latency`
    seconds; `/robots.txt` answers `robots` (text: 200; an int: that status; None: 404). `busy` (a
    callable of the path, giving None or (status, Retry-After)) answers 429/503 instead. It counts the
    requests it serves at once (`most_at_once`) and logs each one (`served`)."""

    def __init__(self, address: str = "127.0.0.2", latency: float = 0.0, robots: str | int | None = None,
                 busy: Callable[[str], tuple[int, str | None] | None] | None = None) -> None:
        if not address.startswith("127."):
            raise ValueError(f"{address}: a FileHost only binds loopback addresses")
        self.address, self.latency, self.robots, self.busy = address, latency, robots, busy
        self.served: list[Served] = []
        self.at_once = 0
        self.most_at_once = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> "FileHost":
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                host.answer(self)

        self._server = _QuietServer((self.address, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://{self.address}:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def files(self) -> list[Served]:
        """The requests for files (not robots.txt), in the order they started."""
        with self._lock:
            return sorted((s for s in self.served if s.path != "/robots.txt"), key=lambda s: s.start)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        start = time.monotonic()
        with self._lock:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        status = 500
        try:
            status = self._answer(handler)
        finally:
            with self._lock:
                self.at_once -= 1
                self.served.append(Served(handler.path, status, start, time.monotonic(),
                                          handler.headers.get("User-Agent", "")))

    def _answer(self, handler: BaseHTTPRequestHandler) -> int:
        path = handler.path
        if path == "/robots.txt":
            if isinstance(self.robots, str):
                return self._send(handler, 200, self.robots.encode(), {"Content-Type": "text/plain"})
            return self._send(handler, self.robots or 404, b"no robots here\n", {"Content-Type": "text/plain"})
        if self.latency and self.stopping.wait(self.latency):
            return self._send(handler, 503, b"stopping\n", {})
        busy = self.busy(path) if self.busy else None
        if busy is not None:
            status, retry_after = busy
            return self._send(handler, status, b"busy\n", {"Retry-After": retry_after} if retry_after else {})
        if not path.endswith(".csv"):
            return self._send(handler, 404, b"not found\n", {})
        body = body_of(path)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            return self._send(handler, 304, b"", {"ETag": etag})
        return self._send(handler, 200, body, {"Content-Type": "text/csv", "ETag": etag})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> int:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        # headers and body in one write: two small writes meet the client's delayed ACK (40 ms each)
        handler._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        if status != 304:
            handler._headers_buffer.append(body)  # type: ignore[attr-defined]
        handler.flush_headers()
        return status


def write_config(folder: Path, api_url: str, fetch: dict[str, Any]) -> Path:
    """A catalogs.toml for the sandbox's veracruz site, with these [fetch] keys."""
    def value(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v) if isinstance(v, (int, float)) else '"' + str(v) + '"'
    lines = ["[harvester]", f'data_dir = "{folder / "data"}"', "", "[catalogs.veracruz]",
             'title = "bench"', f'api_url = "{api_url}"', "retries = 1", "", "[fetch]"]
    lines += [f"{k} = {value(v)}" for k, v in fetch.items() if k != "hosts"]
    for host, table in (fetch.get("hosts") or {}).items():
        lines += ["", f'[fetch.hosts."{host}"]'] + [f"{k} = {value(v)}" for k, v in table.items()]
    path = folder / "catalogs.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_resources(portal: Any, urls: list[str], per_dataset: int = 100, name: str = "bench") -> list[str]:
    """Datasets on the sandbox's veracruz site holding these URLs; their names."""
    names = []
    for number, first in enumerate(range(0, len(urls), per_dataset)):
        dataset = f"{name}-{number:05d}"
        portal.add("veracruz", {"name": dataset, "title": dataset, "resources": [
            {"id": f"r{first + i:06d}", "name": f"r{first + i}", "format": "CSV", "url": url}
            for i, url in enumerate(urls[first:first + per_dataset])]})
        names.append(dataset)
    return names


def timed_fetch(config: Path, datasets: list[str]) -> tuple[float, dict[str, int]]:
    from harvester.config import load_settings
    from harvester.fetch import fetch
    started = time.monotonic()
    summary = fetch(load_settings(config, env={}), datasets=datasets)
    return time.monotonic() - started, summary.by_status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--small-files", type=int, default=1000, help="files on the one fast host (vs curl)")
    parser.add_argument("--small-only", action="store_true", help="only the small files against curl")
    args = parser.parse_args()

    from harvester.config import load_settings
    from harvester.harvest import harvest
    from harvester.sandbox import SandboxPortal

    latencies = [0.05 + 0.15 * i / max(1, args.hosts - 1) for i in range(args.hosts)]
    hosts = [FileHost(f"127.0.0.{2 + i}", latency=latency) for i, latency in enumerate(latencies)]
    rows: list[tuple[str, str, str, str]] = []
    with SandboxPortal() as portal, tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        for host in hosts:
            host.__enter__()
        try:
            urls = [hosts[i % args.hosts].url(f"/d/{i:06d}.csv") for i in range(args.resources)]
            names = add_resources(portal, urls)
            counts = [len(range(i, args.resources, args.hosts)) for i in range(args.hosts)]
            ideal = max(c * latency for c, latency in zip(counts, latencies))
            allow = [h.address for h in hosts]
            modes = [("old: one at a time (workers = 1)", {"workers": 1}),
                     ("new: workers = 8, per_host = 1", {"workers": 8}),
                     (f"new: workers = {args.hosts}, per_host = 1", {"workers": args.hosts})]
            for label, keys in modes if not args.small_only else []:
                folder = Path(tmp) / f"run-{len(rows)}"
                folder.mkdir()
                config = write_config(folder, portal.api_url("veracruz"), {"allow_hosts": allow, **keys})
                assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
                seconds, statuses = timed_fetch(config, names)
                workers = keys["workers"]
                bound = max(ideal, sum(c * latency for c, latency in zip(counts, latencies)) / workers)
                rows.append((label, f"{seconds:.1f}", f"{bound:.1f}", " ".join(f"{n} {s}" for s, n in statuses.items())))
                print(f"{label}: {seconds:.1f} s {statuses}", flush=True)
        finally:
            for host in hosts:
                host.__exit__()
        print(f"\n{args.resources} resources on {args.hosts} hosts (latency {latencies[0] * 1000:.0f}-"
              f"{latencies[-1] * 1000:.0f} ms); ideal (busiest host's files x its latency): {ideal:.1f} s\n")
        print(table(["fetch", "seconds", "bound for its workers", "statuses"], rows))

        # Small files on one fast host: per-file cost against curl, one connection each way.
        rows = []
        with FileHost("127.0.0.22") as fast:
            urls = [fast.url(f"/s/{i:06d}.csv") for i in range(args.small_files)]
            names = add_resources(portal, urls, name="small")
            folder = Path(tmp) / "small"
            folder.mkdir()
            config = write_config(folder, portal.api_url("veracruz"), {"allow_hosts": [fast.address]})
            assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
            seconds, statuses = timed_fetch(config, names)
            rows.append(("harvester fetch (defaults)", f"{seconds:.2f}", f"{seconds / len(urls) * 1000:.2f}"))
            curl = shutil.which("curl")
            if curl:
                out = Path(tmp) / "curl"
                out.mkdir()
                listing = Path(tmp) / "urls.curl"
                listing.write_text("".join(f'url = "{u}"\noutput = "{out}/{i}.csv"\n' for i, u in enumerate(urls)))
                started = time.monotonic()
                subprocess.run([curl, "-s", "-K", str(listing)], check=True)
                seconds = time.monotonic() - started
                rows.append(("curl -K (sequential, one process)", f"{seconds:.2f}", f"{seconds / len(urls) * 1000:.2f}"))
        print(f"\n{len(urls)} small files on one host with no latency:\n")
        print(table(["client", "seconds", "ms per file"], rows))


def table(header: list[str], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [tuple(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
