"""`python -m harvester.sandbox`: run the sandbox portal in the foreground (benchmarks use this)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from harvester.sandbox import SandboxPortal


def main() -> None:
    parser = argparse.ArgumentParser(description="The sandbox CKAN portal on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--synthetic", type=int, default=0, help="size of the generated 'synthetic' site")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with SandboxPortal(synthetic=args.synthetic, seed=args.seed, port=args.port) as portal:
        print(f"sandbox listening on {portal.base_url}", flush=True)
        for site in portal.sites:
            print(f"{site} {portal.api_url(site)}", flush=True)
        done.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
