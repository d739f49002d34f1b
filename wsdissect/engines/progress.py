"""A progress bar over tasks (files, shards, commits) on stderr; the total grows as splits add shards."""
from __future__ import annotations


class TaskProgress:
    def __init__(self, label: str = "export"):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                            TextColumn("tasks"), TimeElapsedColumn(), transient=True,
                            console=Console(stderr=True, highlight=False, markup=False))
        self.task = self.bar.add_task(label, total=0)

    def add(self, n: int) -> None:
        self.bar.update(self.task, total=self.bar.tasks[0].total + n)

    def advance(self, n: int) -> None:
        self.bar.advance(self.task, n)

    def __enter__(self) -> "TaskProgress":
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()
