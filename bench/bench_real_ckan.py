"""Harvest benchmark on a real CKAN: this project against ckanapi's CLI, on a catalog seeded in CKAN 2.11.

Run:  python bench/bench_real_ckan.py [--datasets 5000] [--skip-dump] [--threads 3] [--keep]

The size of today's datos.gob.mx by default. Starts a real CKAN 2.11 with Solr 9, PostgreSQL and Redis
through tests/realckan.py (scripts/ckan/, everything on 127.0.0.1 only, ckan.search.rows_max = 1000 as
CKAN ships it, ckan.search.solr_commit = false while seeding), then:

0. seeds it through the Action API as the sysadmin: the 60 organizations and 8 groups first, then the
   datasets of harvester.sandbox.synthetic's generator (2-4 resources, 3-8 tags, extras, groups) as
   package_create calls from a few threads, minus the fields CKAN fills in itself (ids, timestamps,
   organization dicts, counts); Solr is committed and package_search must count every dataset before
   anything is timed, and one pass over package_search's pages warms Solr and CKAN;
1. `python -m harvester --quiet harvest --json` into a fresh store (full harvest);
2. `ckanapi search datasets` (pages package_search with rows=1000, prints JSON lines);
3. `ckanapi dump datasets --all` (package_list, then package_show for each dataset; one worker);
4. the harvester again with nothing changed, as configured by default (safety_margin 3600 s: every
   dataset was just created, so this window still holds all of them);
5. the harvester again with nothing changed and safety_margin = 0 (what a run sees on a portal whose
   last hour holds few changes).

Each client is a child process: wall time, CPU time and its own peak memory come from bench/peak.py.
Requests are the lines CKAN's gunicorn access log (logs/ckan-access.log) gained during the client's
run, split by action; the harvester's own count (`requests` of its --json output) is shown beside it.
The machine's load average (1 min) is noted before and after each client. CKAN is stopped at the end,
also on an error or an interrupt. Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import re
import signal
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from bench_harvest import BIN, run_child, save_results  # noqa: E402
from harvester.sandbox import synthetic  # noqa: E402
from harvester.sandbox.sites import SANDBOX  # noqa: E402

import realckan  # noqa: E402

ROWS_MAX = 1000  # CKAN's own default for ckan.search.rows_max
NOWHERE = "http://127.0.0.1:9"  # resource URLs point here (the discard port); nothing fetches them
REQUEST = re.compile(r'"([A-Z]+) ([^ "]*)[^"]*" (\d{3}) ')


def load() -> float:
    return round(os.getloadavg()[0], 2)


# --- Seeding -----------------------------------------------------------------------------------------

def to_create(dataset: dict[str, Any]) -> dict[str, Any]:
    """A synthetic package dict as package_create takes it: what CKAN fills in itself is left out."""
    new: dict[str, Any] = {key: dataset[key] for key in (
        "name", "title", "notes", "private", "license_id", "author", "author_email", "maintainer",
        "maintainer_email", "url", "version", "extras") if dataset.get(key) is not None}
    new["owner_org"] = dataset["organization"]["name"]
    new["tags"] = [{"name": tag["name"]} for tag in dataset["tags"]]
    new["groups"] = [{"name": group["name"]} for group in dataset["groups"]]
    new["resources"] = [
        {key: (value.replace(SANDBOX, NOWHERE) if key == "url" else value)
         for key, value in resource.items()
         if key in ("name", "description", "url", "format", "mimetype", "size", "last_modified")
         and value not in (None, "")}
        for resource in dataset["resources"]]
    return new


def seed(ckan: realckan.RealCkan, count: int, threads: int) -> dict[str, Any]:
    from ckanapi import RemoteCKAN  # the harvester's own dependency

    started = time.perf_counter()
    datasets = synthetic.generate(count)
    admin = RemoteCKAN(ckan.site_url, apikey=ckan.token)
    organizations = {d["organization"]["name"]: d["organization"] for d in datasets}
    for org in synthetic.organizations(random.Random(1)):  # the generator's own, used or not
        organizations.setdefault(org["name"], org)
    for name, org in sorted(organizations.items()):
        admin.action.organization_create(name=name, title=org["title"], description=org["description"])
    for name in synthetic.GROUPS:
        admin.action.group_create(name=name, title=name.replace("-", " ").capitalize())
    local = threading.local()
    done = [0]
    lock = threading.Lock()

    def create(dataset: dict[str, Any]) -> None:
        if not hasattr(local, "api"):
            local.api = RemoteCKAN(ckan.site_url, apikey=ckan.token)
        for attempt in range(3):
            try:
                local.api.action.package_create(**dataset)
                break
            except Exception as exc:  # noqa: BLE001 (a worker restart or a timeout: try again)
                if attempt == 2:
                    raise RuntimeError(f"package_create {dataset['name']} failed: {exc!r}") from exc
                if "already in use" in str(exc):  # the first try did land
                    break
                time.sleep(1 + attempt)
        with lock:
            done[0] += 1
            if done[0] % 500 == 0:
                rate = done[0] / (time.perf_counter() - started)
                print(f"  seeded {done[0]}/{count} ({rate:.1f}/s, load {load()})", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(create, (to_create(d) for d in datasets)))
    created = time.perf_counter() - started
    # ckan.search.solr_commit = false: CKAN never commits, Solr soft-commits each second; a hard commit
    # makes sure, and then package_search must count every dataset.
    solr = ckan.env["solr_url"]
    with urllib.request.urlopen(f"{solr}/update?commit=true&wt=json", data=b"", timeout=120) as answer:
        answer.read()
    deadline = time.monotonic() + 120
    while True:
        found = admin.action.package_search(rows=0)["count"]
        if found == count or time.monotonic() > deadline:
            break
        time.sleep(1)
    if found != count:
        raise SystemExit(f"package_search counts {found} datasets, not {count}")
    listed = len(admin.action.package_list())
    if listed != count:
        raise SystemExit(f"package_list has {listed} datasets, not {count}")
    return {"datasets": count, "organizations": len(organizations), "groups": len(synthetic.GROUPS),
            "resources": sum(len(d["resources"]) for d in datasets), "threads": threads,
            "create_seconds": round(created, 1), "seconds": round(time.perf_counter() - started, 1),
            "per_second": round(count / created, 1), "load_after": load()}


def warm_up(ckan: realckan.RealCkan, count: int) -> None:
    """One pass over package_search's pages, so no client pays for cold Solr and CKAN caches."""
    for start in range(0, count + 1, ROWS_MAX):
        url = (f"{ckan.api_url}package_search?rows={ROWS_MAX}&start={start}"
               "&sort=metadata_modified%20asc,id%20asc")
        with urllib.request.urlopen(url, timeout=300) as answer:
            answer.read()


# --- Measuring ---------------------------------------------------------------------------------------

class AccessLog:
    """The requests CKAN served, read from gunicorn's access log (one line per request)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def size(self) -> int:
        return self.path.stat().st_size

    def since(self, offset: int) -> list[str]:
        # gunicorn writes a line once the answer is sent: wait until the log stops growing.
        last = -1
        for _ in range(20):
            size = self.size()
            if size == last:
                break
            last = size
            time.sleep(0.3)
        with open(self.path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace").splitlines()


def breakdown(lines: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    actions: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[str] = collections.Counter()
    for line in lines:
        match = REQUEST.search(line)
        if not match:
            actions["?"] += 1
            continue
        path = match.group(2).split("?", 1)[0]
        actions[path.rsplit("/", 1)[-1] if "/api/" in path else path] += 1
        statuses[match.group(3)] += 1
    return dict(actions.most_common()), dict(sorted(statuses.items()))


def measure(name: str, argv: list[str], log: AccessLog, stdout_path: Path) -> dict[str, Any]:
    offset = log.size()
    load_before = load()
    measured = run_child(name, argv, stdout_path, cwd=ROOT)
    lines = log.since(offset)
    actions, statuses = breakdown(lines)
    row: dict[str, Any] = {"client": name, "seconds": round(measured.seconds, 2),
                           "cpu_seconds": round(measured.cpu_seconds, 2),
                           "requests": len(lines), "peak_mb": measured.peak_mb,
                           "actions": actions, "statuses": statuses,
                           "load_before": load_before, "load_after": load()}
    print(f"  {name}: {row['seconds']} s, {row['requests']} requests, {row['peak_mb']} MB "
          f"(load {load_before} -> {row['load_after']})", file=sys.stderr, flush=True)
    return row


def harvester_row(name: str, config: Path, log: AccessLog, out: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "harvest", "--json", "bench"]
    row = measure(name, argv, log, out)
    [result] = json.loads(out.read_text(encoding="utf-8"))
    if result["status"] != "ok":
        raise RuntimeError(f"{name}: status {result['status']}: {result.get('error')}")
    row["harvester"] = {key: result[key] for key in (
        "mode", "added", "updated", "unchanged", "deleted", "failed", "requests", "retries", "seconds")}
    return row


def json_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def write_config(path: Path, data_dir: Path, api_url: str, **extra: Any) -> Path:
    lines = ["[harvester]", f"data_dir = {json.dumps(str(data_dir))}", "", "[catalogs.bench]",
             'title = "Real CKAN bench"', f"api_url = {json.dumps(api_url)}", 'kind = "ckan"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- The run -----------------------------------------------------------------------------------------

def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"datasets": args.datasets, "rows_max": ROWS_MAX, "cores": os.cpu_count(),
                               "python": sys.version.split()[0], "load_start": load()}
    started = time.perf_counter()
    ckan = realckan.start(work / "ckan", settings={"ckan.search.solr_commit": "false"}, rows_max=ROWS_MAX,
                          timeout=600)
    results["ckan_start_seconds"] = round(time.perf_counter() - started, 1)
    print(f"CKAN at {ckan.site_url} in {results['ckan_start_seconds']} s (load {load()}); seeding "
          f"{args.datasets} datasets with {args.threads} threads", file=sys.stderr, flush=True)
    try:
        results["seed"] = seed(ckan, args.datasets, args.threads)
        print(f"seeded in {results['seed']['seconds']} s; warming up", file=sys.stderr, flush=True)
        warm_up(ckan, args.datasets)
        log = AccessLog(ckan.logs / "ckan-access.log")
        default = write_config(work / "catalogs.toml", work / "data", ckan.api_url)
        no_margin = write_config(work / "catalogs-no-margin.toml", work / "data", ckan.api_url, safety_margin=0)
        out = work / "out"
        out.mkdir()
        ckanapi = str(BIN / "ckanapi")
        rows = [harvester_row("harvester harvest (full)", default, log, out / "full.json")]
        rows.append(measure("ckanapi search datasets", [ckanapi, "search", "datasets", "-r", ckan.site_url],
                            log, out / "search.jsonl"))
        rows[-1]["lines"] = json_lines(out / "search.jsonl")
        if not args.skip_dump:
            rows.append(measure("ckanapi dump datasets --all",
                                [ckanapi, "dump", "datasets", "--all", "-q", "-r", ckan.site_url],
                                log, out / "dump.jsonl"))
            rows[-1]["lines"] = json_lines(out / "dump.jsonl")
        rows.append(harvester_row("harvester harvest (no change, safety_margin 3600 s default)", default, log,
                                  out / "again.json"))
        rows.append(harvester_row("harvester harvest (no change, safety_margin 0)", no_margin, log,
                                  out / "again-no-margin.json"))
        results["rows"] = rows
    finally:
        ckan.stop()
    results["load_end"] = load()
    return results


def print_table(results: dict[str, Any]) -> None:
    seed_info = results["seed"]
    print(f"\nHarvest benchmark, real CKAN 2.11 + Solr 9 (rows_max {results['rows_max']}) seeded with "
          f"{results['datasets']} datasets ({results['cores']} cores shared, Python {results['python']})\n")
    print(f"Seeding: {seed_info['datasets']} datasets ({seed_info['resources']} resources, "
          f"{seed_info['organizations']} organizations, {seed_info['groups']} groups) in "
          f"{seed_info['seconds']} s, package_create from {seed_info['threads']} threads at "
          f"{seed_info['per_second']}/s; CKAN started in {results['ckan_start_seconds']} s\n")
    print("| client | time (s) | CPU (s) | requests | peak memory (MB) | load (1 min) before → after |\n"
          "|---|---:|---:|---:|---:|---|")
    for row in results["rows"]:
        print(f"| {row['client']} | {row['seconds']} | {row['cpu_seconds']} | {row['requests']} | "
              f"{row['peak_mb']} | {row['load_before']} → {row['load_after']} |")
    print("\nRequests: lines of CKAN's gunicorn access log written during each client's run, by action:")
    for row in results["rows"]:
        own = f"; the harvester's own count: {row['harvester']['requests']}" if "harvester" in row else ""
        extra = f"; {row['lines']} JSON lines out" if "lines" in row else ""
        outcome = ""
        if "harvester" in row:
            h = row["harvester"]
            outcome = (f"; {h['mode']}: {h['added']} added, {h['updated']} updated, {h['unchanged']} unchanged, "
                       f"{h['deleted']} deleted")
        print(f"- {row['client']}: {row['actions']} (HTTP {row['statuses']}){own}{extra}{outcome}")
    pages = math.ceil(results["datasets"] / results["rows_max"])
    print(f"  (package_search pages of {results['rows_max']} rows for {results['datasets']} datasets: {pages})")
    times = {row["client"]: row["seconds"] for row in results["rows"]}
    ours = times["harvester harvest (full)"]
    print(f"\nfull harvest vs ckanapi search datasets: {times['ckanapi search datasets'] / ours:.2f}x")
    if "ckanapi dump datasets --all" in times:
        print(f"full harvest vs ckanapi dump datasets --all: {times['ckanapi dump datasets --all'] / ours:.2f}x")
    print(f"\nLoad average (1 min): {results['load_start']} at the start, {seed_info['load_after']} after seeding, "
          f"{results['load_end']} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=5000)
    parser.add_argument("--skip-dump", action="store_true", help="Skip the slow `ckanapi dump datasets --all`.")
    parser.add_argument("--threads", type=int, default=3, help="Threads calling package_create while seeding.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder (CKAN's logs, the store).")
    args = parser.parse_args()
    # A kill is an error too: CKAN is stopped on the way out (realckan's atexit is the last resort).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    work = Path(tempfile.mkdtemp(prefix="bench-real-ckan-"))
    try:
        results = run(args, work)
    finally:
        if args.keep:
            print(f"scratch kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    path = save_results("real-ckan", results)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
