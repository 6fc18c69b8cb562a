"""The nightly at the scale of datos.gob.mx: 5,000 datasets with 50,000 resources on 20 file hosts, a first
run, a run with nothing changed the same night, and the next night's run with nothing changed (every link
due again and asked conditionally). Target (issue 12): the no-change nightly under 10 minutes on 2 cores.

Run:  python bench/bench_nightly_scale.py [--datasets 5000] [--resources 10] [--hosts 20] [--csv-every 5]

The sandbox (`python -m harvester.sandbox`, its own process) serves the catalog: `--datasets` datasets added
to its `synthetic` site, each with `--resources` resources spread over `--hosts` file hosts on 127.0.0.2,
127.0.0.3, ... (threads of this process, keep-alive, ETag and 304). Every `--csv-every`-th dataset's first
resource is a small CSV (validated, profiled, a pack candidate); the others are PDF files, as most of a
real portal's resources are documents, fetched and checked but not tables. Each nightly is a child process
measured for wall time and its own peak memory (bench/peak.py); the next night's run moves the harvester's
clock 21 hours on (harvester/clock.py) in that child, so every link is due. Only loopback addresses.
Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peak  # noqa: E402
from bench_harvest import save_results, start_sandbox  # noqa: E402
from harvester.demo import BUNDLED_PROFILES  # noqa: E402

NEXT_NIGHT = """
import sys
from datetime import timedelta
from harvester import clock
from harvester.cli import main
hours = float(sys.argv[1])
sys.argv = ["harvester", *sys.argv[2:]]
with clock.shifted(timedelta(hours=hours)):
    main()
"""
"""`python -c NEXT_NIGHT HOURS ARGS...`: the harvester command with its clock moved HOURS on."""


def body(path: str) -> bytes:
    """What a file host serves at `path` (the same bytes every time)."""
    digest = hashlib.sha256(path.encode()).hexdigest()
    if path.endswith(".csv"):
        return f"clave,alcaldia,valor\n{digest[:8]},Coyoacán,{int(digest[8:12], 16)}\n" \
               f"{digest[12:20]},Tlalpan,{int(digest[20:24], 16)}\n".encode()
    return b"%PDF-1.4\n% " + digest.encode() + b"\n%%EOF\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/robots.txt":
            self._send(404, b"", "text/plain", {})
            return
        data = body(self.path)
        etag = '"' + hashlib.sha256(data).hexdigest()[:24] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", "", {"ETag": etag})
            return
        kind = "text/csv" if self.path.endswith(".csv") else "application/pdf"
        self._send(200, data, kind, {"ETag": etag})

    def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def start_hosts(count: int) -> list[tuple[_Quiet, str]]:
    hosts = []
    for i in range(count):
        address = f"127.0.0.{2 + i}"
        server = _Quiet((address, 0), _Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        hosts.append((server, f"http://{address}:{server.server_address[1]}"))
    return hosts


def add_datasets(base: str, hosts: list[str], datasets: int, resources: int, csv_every: int) -> int:
    """The catalog, added to the sandbox's `synthetic` site; returns the resources added."""
    added = 0
    for i in range(datasets):
        name = f"escala-{i:05d}"
        items = []
        for r in range(resources):
            host = hosts[(i * resources + r) % len(hosts)]
            table = r == 0 and i % csv_every == 0
            ext, fmt = ("csv", "CSV") if table else ("pdf", "PDF")
            items.append({"id": f"{name}-r{r:02d}", "name": f"Recurso {r}", "format": fmt,
                          "url": f"{host}/{name}/r{r:02d}.{ext}"})
        dataset = {"name": name, "title": f"Movilidad y seguridad de las mujeres, registro {i}",
                   "notes": "Víctimas, transporte y cuidados por alcaldía.", "resources": items,
                   "tags": [{"name": "movilidad"}, {"name": "mujeres"}]}
        request = urllib.request.Request(f"{base}/_sandbox/synthetic/add", method="POST",
                                         data=json.dumps({"dataset": dataset}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
        added += len(items)
    return added


def write_config(work: Path, base: str, hosts: int) -> Path:
    config = work / "catalogs.toml"
    allow = ", ".join(f'"127.0.0.{2 + i}"' for i in range(hosts))
    config.write_text("\n".join([
        "[harvester]", 'data_dir = "data"', f'profiles = "{BUNDLED_PROFILES.as_posix()}"', "",
        "[defaults]", 'user_agent = "datathon-harvester/0.1 (bench; contact: bench@example.org)"',
        "timeout = 60", "retries = 2", "backoff = 0.2", "",
        "[fetch]", f'allow_hosts = ["127.0.0.1", {allow}]', "",
        "[catalogs.synthetic]", 'title = "Catálogo a escala (sandbox)"', 'kind = "ckan"',
        f'api_url = "{base}/synthetic/api/3/action/"', ""]), encoding="utf-8")
    return config


def nightly(name: str, config: Path, hours: float = 0.0) -> dict[str, Any]:
    argv = ["--config", str(config), "--quiet", "nightly", "--json"]
    if hours:
        command = [sys.executable, "-c", NEXT_NIGHT, str(hours), *argv]
    else:
        command = [str(Path(sys.executable).parent / "harvester"), *argv]
    measured = peak.run(command, timeout=7200)
    if measured.returncode not in (0, 3):
        raise SystemExit(f"{name} failed with exit {measured.returncode}: {measured.stderr[-2000:]}")
    summary = json.loads(measured.stdout)
    return {"run": name, "seconds": round(measured.seconds, 1), "peak_mb": measured.peak_mb,
            "exit": measured.returncode, "stages": {k: v for k, v in summary["seconds"].items() if k != "total"},
            "work": {k: v for k, v in summary["work"].items() if k != "failed_catalogs"},
            "failures": [f"{f['stage']} {f['what']}: {f['reason']}" for f in summary["failures"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=5000)
    parser.add_argument("--resources", type=int, default=10, help="resources per dataset")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--csv-every", type=int, default=5, help="every Nth dataset's first resource is a CSV")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 200:
        raise SystemExit("--hosts: 1 to 200 (127.0.0.2 and on)")
    work = Path(tempfile.mkdtemp(prefix="bench-nightly-scale-"))
    sandbox, base = start_sandbox(0)
    servers = start_hosts(args.hosts)
    rows: list[dict[str, Any]] = []
    try:
        began = time.monotonic()
        resources = add_datasets(base, [url for _, url in servers], args.datasets, args.resources, args.csv_every)
        print(f"catalog: {args.datasets} datasets, {resources} resources on {args.hosts} hosts "
              f"({time.monotonic() - began:.0f} s to add)", flush=True)
        config = write_config(work, base, args.hosts)
        for name, hours in (("first nightly", 0.0), ("no change, same night", 0.0),
                            ("no change, next night (all due)", 21.0)):
            rows.append(nightly(name, config, hours))
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    finally:
        for server, _ in servers:
            server.shutdown()
        sandbox.terminate()
        sandbox.wait(10)
    print(f"\nNightly at scale: {args.datasets} datasets, {args.datasets * args.resources} resources on "
          f"{args.hosts} hosts ({os.cpu_count()} cores, Python {sys.version.split()[0]}); target: no change "
          "under 600 s\n")
    print("| run | time (s) | peak memory (MB) | per stage (s) | work |\n|---|---:|---:|---|---|")
    for r in rows:
        stages = ", ".join(f"{k} {v}" for k, v in r["stages"].items())
        work_done = ", ".join(f"{k} {v}" for k, v in r["work"].items())
        print(f"| {r['run']} | {r['seconds']} | {r['peak_mb']} | {stages} | {work_done} |")
        for failure in r["failures"]:
            print(f"|   failure: {failure} | | | | |")
    save_results("nightly-scale", {"datasets": args.datasets, "resources_per_dataset": args.resources,
                                   "hosts": args.hosts, "rows": rows})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
