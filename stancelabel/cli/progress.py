"""The import progress bar: documents, words per second and time left, on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stancelabel.io.importer import Progress


class ImportProgressBar:
    """A tqdm bar created on the first update (so a run with nothing to do prints nothing).

    tqdm hides itself when stderr is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, description: str = "importing", unit: str = "doc") -> None:
        self._description = description
        self._unit = unit
        self._bar = None
        self._start = 0.0

    def update(self, progress: Progress) -> None:
        import time

        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=progress.total, unit=self._unit, desc=self._description, disable=None,
                             dynamic_ncols=True)
            self._start = time.perf_counter()
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self._bar.set_postfix_str(f"{progress.words / elapsed:,.0f} words/s", refresh=False)
        self._bar.update(progress.done - self._bar.n)

    def update_count(self, done: int) -> None:
        """Progress without a known total (records streamed out of an export)."""
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(unit=self._unit, desc=self._description, disable=None, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
