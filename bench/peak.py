"""A child process's own peak memory, for benchmarks and the tests that bound memory.

Linux keeps a process's peak resident size (ru_maxrss) across fork and exec: a child started by a
process that once held 2 GB reports at least 2 GB, whatever it used itself (a pytest process after the
whole suite, for one). So the command is started by this small launcher, a fresh interpreter whose own
peak is a few megabytes, and the launcher reads the command's usage with wait4 and writes it to a file.

    measured = peak.run([sys.executable, "-m", "harvester", "validate"], timeout=120)
    measured.returncode, measured.seconds, measured.peak_mb, measured.stdout, measured.stderr

As a script: `python bench/peak.py REPORT -- ARGV...` runs ARGV with this process's standard streams
and writes {"exit", "seconds", "peak_kb", "cpu_seconds"} as JSON to REPORT.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_kb: int
    cpu_seconds: float
    stdout: str
    stderr: str

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)


def byte_compile() -> None:
    """Compile the harvester package's bytecode, as `pip install` does: a measured command then loads it
    instead of compiling ~60 modules from source on every start (0.1 s here), which an installation never
    does and an environment with PYTHONDONTWRITEBYTECODE=1 (this machine's) would otherwise charge to each
    run. The tools measured against come installed with their bytecode."""
    import compileall

    package = Path(__file__).resolve().parent.parent / "harvester"
    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"{package}: could not byte-compile")


def run(argv: list[str], *, stdout: IO[bytes] | None = None, env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None, timeout: float | None = None, **popen: Any) -> Measured:
    """Run `argv` through the launcher: its exit code, wall time, own peak memory, CPU time and output
    (stdout is captured unless a binary file is given, stderr always)."""
    with tempfile.TemporaryDirectory(prefix="peak-") as scratch:
        report = Path(scratch) / "usage.json"
        captured = stdout is None
        out = open(Path(scratch) / "stdout", "w+b") if captured else stdout
        with open(Path(scratch) / "stderr", "w+b") as err:
            try:
                launcher = subprocess.Popen([sys.executable, __file__, str(report), "--", *argv], stdout=out,
                                            stderr=err, env=env, cwd=cwd, start_new_session=True, **popen)
                try:
                    launcher.wait(timeout)
                except subprocess.TimeoutExpired:  # the command and its launcher go together
                    os.killpg(launcher.pid, signal.SIGKILL)
                    launcher.wait()
                    raise
                err.seek(0)
                stderr = err.read().decode(errors="replace")
                if captured:
                    out.seek(0)
                    stdout_text = out.read().decode(errors="replace")
                else:
                    stdout_text = ""
            finally:
                if captured:
                    out.close()
        if not report.exists():
            raise RuntimeError(f"the launcher did not report on {argv[:3]}: {stderr[-2000:]}")
        usage = json.loads(report.read_text(encoding="utf-8"))
    return Measured(usage["exit"], usage["seconds"], usage["peak_kb"], usage["cpu_seconds"], stdout_text, stderr)


def _launch(report: str, argv: list[str]) -> int:
    started = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    Path(report).write_text(json.dumps({
        "exit": code, "seconds": round(time.perf_counter() - started, 3), "peak_kb": usage.ru_maxrss,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}), encoding="utf-8")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit("usage: peak.py REPORT -- ARGV...")
    sys.exit(_launch(sys.argv[1], sys.argv[3:]))
