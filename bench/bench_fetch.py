"""Fetch over many hosts: the old one-at-a-time fetch (workers = 1) against the pool with per-host queues,
against the ideal (the busiest host's files one after the other at its latency); small files on one
fast host against sequential curl over the same URL list; and large files against curl, in MB/s.

Every host is a small file server on its own loopback address (127.0.0.2 ... 127.0.0.21, all loopback on
Linux), answering each request after its latency (50 to 200 ms, spread over the hosts); the resources are
harvested from the sandbox portal, spread over the hosts in turn.

    .venv/bin/python bench/bench_fetch.py                    # 20,000 resources (the old fetch: about 40 min)
    .venv/bin/python bench/bench_fetch.py --resources 2000   # a quick run
    .venv/bin/python bench/bench_fetch.py --small-only       # 1,000 small files on one host against curl -K
    .venv/bin/python bench/bench_fetch.py --large-only       # 3 files of 300 MB against curl -K, in MB/s

For the small and the large files, `harvester fetch` runs in its own process through bench/peak.py, as curl
does, so the server (in this process) never shares an interpreter with the client it serves; "in fetch" is
the fetch call's own time (the process time also counts starting Python and importing). `--root DIR`
measures the harvester package of another checkout, and `--compare DIR` adds that checkout's harvester
to the same runs (an older commit: a before/after from one run, alternating with the others; repeatable).

The large files are CSVs generated into a temporary folder and served by `SendfileHost` (socket.sendfile
from a thread per connection): the line `curl -o /dev/null` is that server's ceiling, so it is not the
bottleneck of the lines below it. Every client's output is deleted before the next run; after one warm-up
round that is not kept, each client runs `--repeat` times, in an order that turns each round, and the table
shows the best run of each (bench/results/ has them all).

`FileHost` is also the server of tests/test_fetch_polite.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import peak  # noqa: E402


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
        handler.answered = False  # type: ignore[attr-defined]
        status = 500
        try:
            status = self._answer(handler)
        finally:
            self._release(handler)
            with self._lock:
                self.served.append(Served(handler.path, status, start, time.monotonic(),
                                          handler.headers.get("User-Agent", "")))

    def _release(self, handler: BaseHTTPRequestHandler) -> None:
        """The request no longer counts as being served: called just before its answer goes out, so a client
        that waits for it before sending its next request can never be counted twice at once (counted after
        the answer, a server thread waiting for the GIL would still count it while the next one starts)."""
        with self._lock:
            if not handler.answered:  # type: ignore[attr-defined]
                handler.answered = True  # type: ignore[attr-defined]
                self.at_once -= 1

    def _answer(self, handler: BaseHTTPRequestHandler) -> int:
        path = handler.path
        if path == "/robots.txt":
            if isinstance(self.robots, str):
                return self._send_counted(handler, 200, self.robots.encode(), {"Content-Type": "text/plain"})
            return self._send_counted(handler, self.robots or 404, b"no robots here\n", {"Content-Type": "text/plain"})
        if self.latency and self.stopping.wait(self.latency):
            return self._send_counted(handler, 503, b"stopping\n", {})
        busy = self.busy(path) if self.busy else None
        if busy is not None:
            status, retry_after = busy
            return self._send_counted(handler, status, b"busy\n", {"Retry-After": retry_after} if retry_after else {})
        if not path.endswith(".csv"):
            return self._send_counted(handler, 404, b"not found\n", {})
        body = body_of(path)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            return self._send_counted(handler, 304, b"", {"ETag": etag})
        return self._send_counted(handler, 200, body, {"Content-Type": "text/csv", "ETag": etag})

    def _send_counted(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> int:
        return self._send(handler, status, body, headers, lambda: self._release(handler))

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str],
              before_sending: Any = None) -> int:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        # headers and body in one write: two small writes meet the client's delayed ACK (40 ms each)
        handler._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        if status != 304:
            handler._headers_buffer.append(body)  # type: ignore[attr-defined]
        if before_sending is not None:
            before_sending()
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


class SendfileHost:
    """A server of large files on one loopback address: HTTP/1.1 with keep-alive, a thread per connection,
    each body written by socket.sendfile (the kernel copies from the page cache, without the GIL), so one
    client's MB/s is not held back by the server. `GET /<name>` answers `folder/<name>` (Content-Length,
    text/csv); anything else is a 404 (robots.txt too: no rules)."""

    def __init__(self, folder: Path, address: str = "127.0.0.23") -> None:
        if not address.startswith("127."):
            raise ValueError(f"{address}: a SendfileHost only binds loopback addresses")
        self.folder, self.address = folder, address
        self._listener: socket.socket | None = None

    def __enter__(self) -> "SendfileHost":
        self._listener = socket.create_server((self.address, 0), backlog=16)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._listener is not None:
            self._listener.close()

    @property
    def base(self) -> str:
        assert self._listener is not None
        return f"http://{self.address}:{self._listener.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed: the host is stopping
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pending = b""
            try:
                while True:
                    while b"\r\n\r\n" not in pending:
                        data = conn.recv(65536)
                        if not data:
                            return
                        pending += data
                    head, pending = pending.split(b"\r\n\r\n", 1)
                    method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                    name = path.lstrip("/")
                    file = self.folder / name
                    if method != "GET" or not name or "/" in name or name.startswith(".") or not file.is_file():
                        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                                     b"Content-Length: 10\r\n\r\nnot found\n")
                        continue
                    with file.open("rb") as handle:
                        size = os.fstat(handle.fileno()).st_size
                        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {size}\r\n"
                                     "\r\n".encode())
                        conn.sendfile(handle)
            except (ConnectionError, OSError):
                return


# The harvester's own process: the fetch call timed inside it, its statuses and the bytes it downloaded.
FETCH_SNIPPET = (
    "import json, sys, time; sys.path.insert(0, {root!r}); from pathlib import Path; "
    "import harvester; assert harvester.__file__.startswith({root!r}), harvester.__file__; "
    "from harvester.config import load_settings; from harvester.fetch import fetch; "
    "settings = load_settings(Path({config!r}), env={{}}); started = time.monotonic(); "
    "summary = fetch(settings, datasets={names!r}); "
    "print(json.dumps({{'seconds': time.monotonic() - started, 'by_status': summary.by_status}}))")


@dataclass(frozen=True)
class Timing:
    client: str
    seconds: float
    """The process's wall time (bench/peak.py)."""
    cpu: float
    """The process's CPU time, user and system (bench/peak.py): less swayed than wall time by other work on
    a shared machine."""
    inside: float | None = None
    """The fetch call's own time (None for curl)."""
    statuses: str = ""


def fetch_in_process(root: Path, config: Path, names: list[str], client: str) -> Timing:
    """`harvester fetch` of these datasets in its own Python process (bench/peak.py)."""
    argv = [sys.executable, "-c", FETCH_SNIPPET.format(root=str(root), config=str(config), names=names)]
    measured = peak.run(argv, timeout=3600)
    if measured.returncode != 0:
        raise RuntimeError(f"{client} failed: {measured.stderr[-2000:]}")
    report = json.loads(measured.stdout.strip().splitlines()[-1])
    statuses = " ".join(f"{n} {s}" for s, n in sorted(report["by_status"].items()))
    return Timing(client, measured.seconds, measured.cpu_seconds, report["seconds"], statuses)


def curl_listing(path: Path, urls: list[str], outputs: list[str]) -> Path:
    path.write_text("".join(f'url = "{u}"\noutput = "{o}"\n' for u, o in zip(urls, outputs)), encoding="utf-8")
    return path


def curl_run(curl: str, listing: Path, client: str) -> Timing:
    measured = peak.run([curl, "-s", "--fail", "-K", str(listing)], timeout=3600)
    if measured.returncode != 0:
        raise RuntimeError(f"{client} failed (exit {measured.returncode}): {measured.stderr[-500:]}")
    return Timing(client, measured.seconds, measured.cpu_seconds)


def fresh_fetch_config(tmp: Path, label: str, api_url: str, fetch: dict[str, Any]) -> Path:
    """A new data folder with the veracruz site harvested, so a fetch downloads every file (no 304)."""
    from harvester.config import load_settings
    from harvester.harvest import harvest
    folder = tmp / label
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    config = write_config(folder, api_url, fetch)
    assert harvest(load_settings(config, env={}), ["veracruz"])[0].status == "ok"
    return config


def best(timings: list[Timing]) -> Timing:
    return min(timings, key=lambda t: t.inside if t.inside is not None else t.seconds)


RUNS: dict[str, list[dict[str, Any]]] = {}
"""Every run of the small and large files, for bench/results/."""


def keep(kind: str, results: dict[str, list[Timing]]) -> list[Timing]:
    """Every run into RUNS[kind]; the best run of each client."""
    RUNS[kind] = [asdict(t) for runs in results.values() for t in runs]
    return [best(runs) for runs in results.values()]


def rounds(clients: list[tuple[str, Callable[[], Timing]]], repeat: int) -> dict[str, list[Timing]]:
    """Each client `repeat` times, after one warm-up round that is not kept (the page cache, the server's
    first connections); the order turns each round, so no client always runs first or after the same one."""
    results: dict[str, list[Timing]] = {name: [] for name, _ in clients}
    for number in range(repeat + 1):
        turn = number % len(clients)
        for name, run in clients[turn:] + clients[:turn]:
            timing = run()
            if number:
                results[name].append(timing)
    return results


def small_files(portal: Any, tmp: Path, count: int, repeat: int, roots: dict[str, Path]) -> list[Timing]:
    """`count` small files on one fast host: harvester fetch (defaults) against sequential curl -K."""
    curl = shutil.which("curl")
    with FileHost("127.0.0.22") as fast:
        urls = [fast.url(f"/s/{i:06d}.csv") for i in range(count)]
        names = add_resources(portal, urls, name="small")
        out = tmp / "small-curl"
        listing = curl_listing(tmp / "small.curl", urls, [f"{out}/{i}.csv" for i in range(count)])

        def harvester(client: str, root: Path) -> Callable[[], Timing]:
            def run() -> Timing:
                config = fresh_fetch_config(tmp, "small", portal.api_url("veracruz"), {"allow_hosts": [fast.address]})
                return fetch_in_process(root, config, names, client)
            return run

        def curl_k() -> Timing:
            assert curl is not None
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            return curl_run(curl, listing, "curl -K (sequential, one process)")
        clients = [(client, harvester(client, root)) for client, root in roots.items()]
        clients += [("curl -K (sequential, one process)", curl_k)] if curl else []
        return keep("small", rounds(clients, repeat))


def write_large_csv(path: Path, megabytes: int, seed: int) -> int:
    """A CSV of about `megabytes` MB (a 1 MB block of rows, repeated with a varying first column)."""
    import random
    rng = random.Random(seed)
    rows = [f"{rng.randrange(10**9)},{rng.choice(['Iztapalapa', 'Coyoacán', 'Tlalpan'])},{rng.random():.6f}\n"
            for _ in range(30_000)]
    block = "".join(rows).encode()
    with path.open("wb") as handle:
        handle.write(b"id,alcaldia,valor\n")
        for number in range(max(1, megabytes * 1_000_000 // len(block))):
            handle.write(f"{number},bloque,0\n".encode())
            handle.write(block)
    return path.stat().st_size


def large_files(portal: Any, tmp: Path, files: int, megabytes: int, repeat: int,
                roots: dict[str, Path]) -> tuple[int, list[Timing]]:
    """`files` CSVs of `megabytes` MB on one sendfile host: harvester fetch (hashing, sniffing, inspecting
    included) against curl -K writing the same files, and curl into /dev/null (the server's ceiling)."""
    curl = shutil.which("curl")
    source = tmp / "large-source"
    source.mkdir()
    total = sum(write_large_csv(source / f"big{i}.csv", megabytes, i) for i in range(files))
    os.sync()  # the generated files' write-back is not left to slow down the first run
    with SendfileHost(source) as server:
        urls = [server.url(f"/big{i}.csv") for i in range(files)]
        names = add_resources(portal, urls, name="large")
        out = tmp / "large-curl"
        to_files = curl_listing(tmp / "large.curl", urls, [f"{out}/big{i}.csv" for i in range(files)])
        to_null = curl_listing(tmp / "large-null.curl", urls, ["/dev/null"] * files)

        def harvester(client: str, root: Path) -> Callable[[], Timing]:
            def run() -> Timing:
                config = fresh_fetch_config(tmp, "large", portal.api_url("veracruz"), {"allow_hosts": [server.address]})
                try:
                    return fetch_in_process(root, config, names, client)
                finally:  # the next client does not pay for this one's dirty pages
                    shutil.rmtree(tmp / "large", ignore_errors=True)
            return run

        def curl_file() -> Timing:
            assert curl is not None
            out.mkdir()
            try:
                return curl_run(curl, to_files, "curl -K -o file (sequential)")
            finally:
                shutil.rmtree(out, ignore_errors=True)

        def curl_null() -> Timing:
            assert curl is not None
            return curl_run(curl, to_null, "curl -K -o /dev/null (the server's ceiling)")
        clients = [(client, harvester(client, root)) for client, root in roots.items()]
        if curl:
            clients += [("curl -K -o file (sequential)", curl_file),
                        ("curl -K -o /dev/null (the server's ceiling)", curl_null)]
        return total, keep("large", rounds(clients, repeat))


def many_hosts(portal: Any, tmp: Path, resources: int, host_count: int) -> None:
    from harvester.config import load_settings
    from harvester.harvest import harvest
    latencies = [0.05 + 0.15 * i / max(1, host_count - 1) for i in range(host_count)]
    hosts = [FileHost(f"127.0.0.{2 + i}", latency=latency) for i, latency in enumerate(latencies)]
    rows: list[tuple[str, ...]] = []
    for host in hosts:
        host.__enter__()
    try:
        urls = [hosts[i % host_count].url(f"/d/{i:06d}.csv") for i in range(resources)]
        names = add_resources(portal, urls)
        counts = [len(range(i, resources, host_count)) for i in range(host_count)]
        ideal = max(c * latency for c, latency in zip(counts, latencies))
        allow = [h.address for h in hosts]
        modes = [("old: one at a time (workers = 1)", {"workers": 1}),
                 ("new: workers = 8, per_host = 1", {"workers": 8}),
                 (f"new: workers = {host_count}, per_host = 1", {"workers": host_count})]
        for label, keys in modes:
            folder = tmp / f"run-{len(rows)}"
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
    print(f"\n{resources} resources on {host_count} hosts (latency {latencies[0] * 1000:.0f}-"
          f"{latencies[-1] * 1000:.0f} ms); ideal (busiest host's files x its latency): {ideal:.1f} s\n")
    print(table(["fetch", "seconds", "bound for its workers", "statuses"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--small-files", type=int, default=1000, help="files on the one fast host (vs curl)")
    parser.add_argument("--small-only", action="store_true", help="only the small files against curl")
    parser.add_argument("--large-only", action="store_true", help="only the large files against curl")
    parser.add_argument("--large-files", type=int, default=3, help="how many large files")
    parser.add_argument("--large-mb", type=int, default=300, help="the size of each large file, in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each client (small and large files)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose harvester package to measure")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another checkout's harvester, measured in the same runs (repeatable)")
    args = parser.parse_args()
    if args.small_only and args.large_only:
        parser.error("--small-only and --large-only exclude each other")
    roots = {"harvester fetch (defaults)": args.root.resolve()}
    for other in args.compare:
        roots[f"harvester fetch ({other.resolve().name})"] = other.resolve()
    for root in roots.values():
        if not (root / "harvester" / "fetch.py").is_file():
            parser.error(f"{root}: no harvester package there")
    root = args.root.resolve()

    from harvester.sandbox import SandboxPortal

    print(f"Fetch benchmark ({os.cpu_count()} cores, Python {sys.version.split()[0]}; harvester from {root})\n",
          flush=True)
    with SandboxPortal() as portal, tempfile.TemporaryDirectory(prefix="bench-fetch-") as folder:
        tmp = Path(folder)
        if not (args.small_only or args.large_only):
            many_hosts(portal, tmp, args.resources, args.hosts)
        if not args.large_only:
            timings = small_files(portal, tmp, args.small_files, args.repeat, roots)
            curl = next((t for t in timings if t.inside is None), None)
            rows = []
            for t in timings:
                seconds = t.inside if t.inside is not None else t.seconds
                inside = f"{t.inside:.2f}" if t.inside is not None else ""
                rows.append((t.client, f"{t.seconds:.2f}", f"{t.cpu:.2f}", inside,
                             f"{args.small_files / seconds:.0f}", f"{seconds / args.small_files * 1000:.2f}",
                             f"{seconds / curl.seconds:.2f}" if curl else "", t.statuses))
            print(f"\n{args.small_files} small files on one host with no latency (best of {args.repeat}; files/s and"
                  " ms per file from the fetch's own time):\n")
            print(table(["client", "process s", "cpu s", "in fetch s", "files/s", "ms per file", "x curl", "statuses"],
                        rows))
        if not args.small_only:
            total, timings = large_files(portal, tmp, args.large_files, args.large_mb, args.repeat, roots)
            curl = next((t for t in timings if t.client.startswith("curl -K -o file")), None)
            rows = []
            for t in timings:
                seconds = t.inside if t.inside is not None else t.seconds
                rate = total / 1e6 / seconds
                inside = f"{t.inside:.2f}" if t.inside is not None else ""
                rows.append((t.client, f"{t.seconds:.2f}", f"{t.cpu:.2f}", inside,
                             f"{rate:.0f}", f"{rate / (total / 1e6 / curl.seconds):.0%}" if curl else "", t.statuses))
            print(f"\n{args.large_files} CSV files of {total / args.large_files / 1e6:.0f} MB on one sendfile host "
                  f"({total / 1e6:.0f} MB; best of {args.repeat}; MB/s from the fetch's own time):\n")
            print(table(["client", "process s", "cpu s", "in fetch s", "MB/s", "of curl's MB/s", "statuses"], rows))
    if RUNS:
        from bench_harvest import save_results
        print(f"\nresults: {save_results('fetch', {'args': {k: str(v) for k, v in vars(args).items()}, **RUNS})}")


def table(header: list[str], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [tuple(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
