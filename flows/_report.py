"""What a batch tells people: a progress bar while it runs, a summary table at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

__all__ = ["BatchReport", "ProgressBar"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass
class BatchReport:
    """What a batch did. ``exit_code``: 0 every file ok (or skipped), 1 some file failed,
    130 interrupted (Ctrl-C) before the end."""

    outdir: Path
    manifest: Path
    total: int = 0  #: files found, skipped and failed-to-plan ones included
    ok: int = 0  #: traced in this run
    failed: int = 0
    skipped: int = 0  #: not images (by suffix), recorded and left alone
    already_done: int = 0  #: done by an earlier run (``resume``)
    interrupted: bool = False
    seconds: float = 0.0  #: wall time of the run
    trace_seconds: float = 0.0  #: from the first file submitted to the last one finished
    pixels: int = 0
    svg_bytes: int = 0
    input_bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  #: (file, error), first 1000
    dashboard: str | None = None
    cluster: str | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK

    @property
    def files_per_second(self) -> float:
        seconds = self.trace_seconds or self.seconds
        return (self.ok + self.failed) / seconds if seconds > 0 else 0.0

    def add(self, record: dict[str, Any]) -> None:
        status = record["status"]
        if status == "ok":
            self.ok += 1
            self.pixels += int(record.get("pixels") or 0)
            self.svg_bytes += int(record.get("svg_bytes") or 0)
            self.input_bytes += int(record.get("input_bytes") or 0)
        elif status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            if len(self.failures) < 1000:
                label = record["input"] if not record.get("member") else f"{record['input']}!{record['member']}"
                self.failures.append((label, str(record.get("error"))))

    def table(self, max_failures: int = 10) -> Table:
        """The summary as a rich table (print it with a rich Console)."""
        title = "vectile batch: interrupted" if self.interrupted else "vectile batch"
        table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2, 0, 0))
        table.add_column(justify="left", style="bold")
        table.add_column(justify="right")
        table.add_column(justify="left")
        left = self.total - self.ok - self.failed - self.skipped - self.already_done
        table.add_row("traced", f"{self.ok:,}", "files")
        table.add_row("failed", Text(f"{self.failed:,}", style="red" if self.failed else ""), "files")
        if self.skipped:
            table.add_row("skipped", f"{self.skipped:,}", "not images (by suffix)")
        if self.already_done:
            table.add_row("already done", f"{self.already_done:,}", "files (resume)")
        if left > 0:
            table.add_row("not done", f"{left:,}", "files: rerun with --resume to finish")
        table.add_row("time", f"{self.seconds:,.1f}", f"s ({self.trace_seconds:,.1f} s tracing)")
        table.add_row("throughput", f"{self.files_per_second:,.1f}", "files/s")
        table.add_row("pixels", f"{self.pixels / 1e6:,.1f}", "MP")
        table.add_row("SVG", f"{self.svg_bytes / 1e6:,.2f}", f"MB (inputs {self.input_bytes / 1e6:,.2f} MB)")
        table.add_row("manifest", str(self.manifest), "")
        for _label, error in self.failures[:max_failures]:  # errors name their file
            table.add_row(Text("error", style="red"), "", Text(error, overflow="fold"))
        if self.failed > max_failures:
            table.add_row("", "", f"... {self.failed - max_failures:,} more in the manifest")
        return table

    def print(self, console: Console | None = None) -> None:
        (console or Console(stderr=True)).print(self.table())


class _RateColumn(ProgressColumn):
    """Files per second since the bar started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.1f} files/s", style="progress.data.speed")


class _FailedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        failed = int(task.fields.get("failed", 0))
        return Text(f"{failed:,} failed", style="red" if failed else "dim")


class ProgressBar:
    """A rich progress bar over the files of a batch; does nothing when disabled."""

    def __init__(self, total: int, *, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: Any = None
        self._failed = 0
        self._pending = 0
        self._last = 0.0
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]tracing"),
                BarColumn(),
                MofNCompleteColumn(),
                _RateColumn(),
                _FailedColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                refresh_per_second=4,
            )
            self._task = self._progress.add_task("tracing", total=total, failed=0)

    def __enter__(self) -> ProgressBar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._flush()
            self._progress.stop()

    def advance(self, failed: bool) -> None:
        if self._progress is None:
            return
        self._pending += 1
        self._failed += failed
        now = time.monotonic()
        if now - self._last >= 0.1:  # the bar redraws 4 times a second; don't lock per file
            self._flush()
            self._last = now

    def _flush(self) -> None:
        if self._progress is not None and self._pending:
            self._progress.update(self._task, advance=self._pending, failed=self._failed)
            self._pending = 0

    def print(self, *objects: Any) -> None:
        if self._progress is not None:
            self._progress.console.print(*objects)
