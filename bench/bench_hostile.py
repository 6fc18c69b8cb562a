"""The hostile-input table (issue 15, "Done when"): each attack's test run alone, with its outcome, wall time
and the peak memory of the whole test process (pytest, the sandbox portal it serves from a thread, and the
harvester stages the test runs in process; stages a test starts as commands of their own are bounded by the
test's own assertions).

Run:  python bench/bench_hostile.py [-k EXPR]

Each test is collected from the hostile-input test files and run in a fresh `pytest` process through
bench/peak.py, so one test's memory is not another's. Results: a Markdown table on stdout and JSON in
bench/results/.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peak  # noqa: E402
from bench_harvest import save_results  # noqa: E402

FILES = ["tests/test_safety.py", "tests/test_hostile_portal.py", "tests/test_hostile_files.py",
         "tests/test_hostile_site.py", "tests/test_store_kill.py", "tests/test_crash.py", "tests/test_config.py",
         "tests/test_validate.py::test_a_csv_that_is_one_long_line_is_refused_quickly_with_its_reason",
         "tests/test_validate.py::test_a_table_as_wide_as_allowed_is_still_validated",
         "tests/test_packs.py::test_portal_text_in_a_pack_readme_is_inert_and_names_are_bounded"]


def collect(expression: str | None) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", *FILES]
    if expression:
        argv += ["-k", expression]
    done = subprocess.run(argv, cwd=HERE.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # a collection error would otherwise leave tests out of the table unsaid
        sys.exit(f"bench_hostile: collecting the tests failed (exit {done.returncode}):\n{done.stdout[-2000:]}")
    return [line.strip() for line in done.stdout.splitlines() if "::" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="expression", default=None, help="pytest -k expression")
    args = parser.parse_args()
    rows = []
    print("| test | outcome | seconds | peak MB |\n|---|---|---:|---:|", flush=True)
    for node in collect(args.expression):
        done = peak.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node], cwd=HERE.parent,
                        timeout=900)
        outcome = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        rows.append({"test": node, "outcome": outcome, "seconds": round(done.seconds, 2), "peak_mb": done.peak_mb})
        print(f"| `{node}` | {outcome} | {done.seconds:.1f} | {done.peak_mb:.0f} |", flush=True)
    print(f"\nresults: {save_results('hostile', {'rows': rows})}")


if __name__ == "__main__":
    main()
