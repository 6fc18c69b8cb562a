"""What publishing the read copy costs (issue 12): a writer's close of the store, with and without it.

Run:  python bench/bench_publish.py [--datasets 5000 20000] [--repeat 5]

For each size, harvests the sandbox's synthetic catalog of that many datasets into a fresh store (a real
`harvester harvest` process), then times, in this process: `Store.publish()` alone (CHECKPOINT, copy,
fsync, rename), and a whole writer open + close with nothing to write (what a stage that changed nothing
pays now, publishing included). Everything talks to 127.0.0.1 only. Results: a table on stdout and JSON
in bench/results/.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_harvest import BIN, run_child, save_results, start_sandbox, warm_up

from harvester.paths import read_copy_of
from harvester.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, nargs="+", default=[5000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for datasets in args.datasets:
        work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
        sandbox, base = start_sandbox(datasets)
        try:
            warm_up(base, datasets)
            config = work / "catalogs.toml"
            config.write_text(f'[harvester]\ndata_dir = "{work / "data"}"\n\n[catalogs.synthetic]\n'
                              f'title = "Synthetic"\napi_url = "{base}/synthetic/api/3/action/"\nkind = "ckan"\n',
                              encoding="utf-8")
            harvested = run_child("harvest", [str(BIN / "harvester"), "--config", str(config), "--quiet",
                                              "harvest", "synthetic"])
        finally:
            sandbox.terminate()
            sandbox.wait(10)
        database = work / "data" / "catalog.duckdb"
        publish, whole = [], []
        with Store(database) as store:
            for _ in range(args.repeat):
                begun = time.monotonic()
                store.publish()
                publish.append(time.monotonic() - begun)
        for _ in range(args.repeat):
            begun = time.monotonic()
            Store(database).close()
            whole.append(time.monotonic() - begun)
        rows.append({"datasets": datasets, "store_mb": round(database.stat().st_size / 1e6, 1),
                     "copy_mb": round(read_copy_of(database).stat().st_size / 1e6, 1),
                     "harvest_s": round(harvested.seconds, 2),
                     "publish_s": round(statistics.median(publish), 3), "publish_max_s": round(max(publish), 3),
                     "open_close_s": round(statistics.median(whole), 3)})
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nPublish benchmark ({os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeat})\n")
    print("| datasets | store (MB) | full harvest (s) | publish (s) | slowest publish (s) | writer open+close (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['datasets']} | {r['store_mb']} | {r['harvest_s']} | {r['publish_s']} | {r['publish_max_s']} "
              f"| {r['open_close_s']} |")
    save_results("publish", {"rows": rows})


if __name__ == "__main__":
    main()
