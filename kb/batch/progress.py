"""A rich progress bar for batches: cases done, rate and time left, on the terminal's stderr."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from kb.batch.chunk import ChunkResult


class BatchProgress:
    """Advances by the cases of each finished chunk; ``total`` is ``None`` for a stream of unknown length."""

    def __init__(self, total: int | None, description: str = "deciding", enabled: bool | None = None) -> None:
        console = Console(stderr=True)
        self.enabled = console.is_terminal if enabled is None else enabled
        self.failed = 0
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
        )
        self.task = self.progress.add_task(description, total=total, rate="", failed=0)

    def __enter__(self) -> BatchProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def chunk_done(self, result: ChunkResult) -> None:
        self.failed += sum(1 for o in result.outcomes if o.outcome is None)
        self.progress.advance(self.task, len(result.outcomes))
        speed = self.progress.tasks[0].speed
        self.progress.update(self.task, rate=f"{speed:,.1f} cases/s" if speed else "", failed=self.failed)
