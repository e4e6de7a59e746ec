"""What a long benchmark run shows while it runs: the case, and a bar with an estimate for each
seeding and load phase (rich, on stderr; the servers' own logs go to files, see harness.LOG_DIR)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False)
Advance = Callable[[float], None]


def case(name: str, detail: str = "") -> None:
    """A rule naming the case that starts now."""
    console.rule(f"[bold]{name}[/bold] {detail}".strip(), align="left")


def note(text: str) -> None:
    console.print(f"  {text}")


@contextmanager
def phase(description: str, total: float | None) -> Iterator[Advance]:
    """A progress bar for one phase; the body calls the yielded function with the work done since."""
    columns = (
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(done: float = 1) -> None:
            bar.advance(task, done)

        yield advance
