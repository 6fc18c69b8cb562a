"""Progress reporting through one small interface: silent, log lines (cron, CI, no TTY) or bars."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator, Protocol


class Progress(Protocol):
    def start(self, task: str, total: int | None = None) -> None: ...
    def update(self, task: str, done: int, total: int | None = None) -> None: ...
    def finish(self, task: str, message: str) -> None: ...
    def close(self) -> None: ...


class SilentProgress:
    def start(self, task: str, total: int | None = None) -> None:
        pass

    def update(self, task: str, done: int, total: int | None = None) -> None:
        pass

    def finish(self, task: str, message: str) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress:
    """Plain timestamped lines, at most one update per task every `interval` seconds."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last: dict[str, float] = {}
        self._totals: dict[str, int | None] = {}

    def _line(self, text: str) -> None:
        self.stream.write(time.strftime("%Y-%m-%d %H:%M:%S ") + text + "\n")
        self.stream.flush()

    def start(self, task: str, total: int | None = None) -> None:
        self._totals[task] = total
        self._last[task] = time.monotonic()
        self._line(f"{task}: started")

    def update(self, task: str, done: int, total: int | None = None) -> None:
        if total is not None:
            self._totals[task] = total
        now = time.monotonic()
        if now - self._last.get(task, 0.0) >= self.interval:
            self._last[task] = now
            total_ = self._totals.get(task)
            self._line(f"{task}: {done}" + (f"/{total_}" if total_ else ""))

    def finish(self, task: str, message: str) -> None:
        self._line(f"{task}: {message}")

    def close(self) -> None:
        pass


class BarProgress:
    """rich progress bars for a person at a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
            TimeElapsedColumn
        self._console = Console(stderr=True)
        self._bars = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=self._console, transient=False)
        self._ids: dict[str, int] = {}
        self._bars.start()

    def start(self, task: str, total: int | None = None) -> None:
        self._ids[task] = self._bars.add_task(task, total=total)

    def update(self, task: str, done: int, total: int | None = None) -> None:
        if task in self._ids:
            self._bars.update(self._ids[task], completed=done, **({"total": total} if total else {}))

    def finish(self, task: str, message: str) -> None:
        if task in self._ids:
            self._bars.update(self._ids[task], description=f"{task}: {message}")
            self._bars.stop_task(self._ids[task])

    def close(self) -> None:
        self._bars.stop()


def choose_progress(quiet: bool = False, stream: IO[str] | None = None) -> Progress:
    """Bars on a terminal, log lines otherwise, nothing when quiet."""
    if quiet:
        return SilentProgress()
    target = stream or sys.stderr
    if target.isatty():
        return BarProgress()
    return LogProgress(target)


@contextmanager
def progress_for(quiet: bool = False, stream: IO[str] | None = None) -> Iterator[Progress]:
    """`choose_progress`, closed when the block ends, however it ends."""
    progress = choose_progress(quiet, stream)
    try:
        yield progress
    finally:
        progress.close()
