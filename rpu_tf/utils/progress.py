"""Progress reporting for long loops: tqdm on a terminal, else periodic log lines with ETA."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Iterator, Optional

logger = logging.getLogger(__name__)

#: The commands' log line format (time, level, logger, message).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _LogProgress:
    """A minimal tqdm stand-in that logs ``desc: n/total, rate, ETA`` every ``interval`` s."""

    def __init__(self, total: Optional[int], initial: int, desc: str, unit: str, interval: float = 30.0):
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self.interval = interval
        self._start = self._last = time.monotonic()
        self._start_n = initial
        self._postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval or (self.total is not None and self.n >= self.total):
            self._last = now
            rate = (self.n - self._start_n) / max(now - self._start, 1e-9)
            eta = ""
            if self.total is not None and rate > 0:
                eta = f", ETA {max(self.total - self.n, 0) / rate:.0f}s"
            total = f"/{self.total}" if self.total is not None else ""
            logger.info("%s: %d%s %s (%.2f %s/s%s)%s", self.desc, self.n, total, self.unit, rate,
                        self.unit, eta, self._postfix)

    def set_postfix(self, **kwargs) -> None:
        self._postfix = " " + " ".join(f"{k}={v}" for k, v in kwargs.items())

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(total: Optional[int] = None, desc: str = "", unit: str = "it", initial: int = 0):
    """A progress bar over ``total`` items: tqdm on a terminal, else (a log file, a notebook
    without a terminal, tqdm missing) log lines in the log's own format every 30 s."""
    if not sys.stderr.isatty():
        return _LogProgress(total, initial, desc, unit)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _LogProgress(total, initial, desc, unit)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False, dynamic_ncols=True)


class BarAwareHandler(logging.StreamHandler):
    """Writes log lines above any tqdm bar on the terminal (``tqdm.write`` clears the bar, writes
    the line, redraws the bar), so a log line never starts in the middle of a bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            super().emit(record)
            return
        try:
            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except Exception:  # noqa: BLE001 -- logging's own contract: report, do not raise
            self.handleError(record)


def keep_log_lines_off_bars(root: Optional[logging.Logger] = None) -> None:
    """On a terminal, replaces the root logger's stderr handlers with :class:`BarAwareHandler`
    (same level and format); elsewhere (a log file, a pipe) leaves them as they are."""
    root = root or logging.getLogger()
    if not sys.stderr.isatty():
        return
    for handler in list(root.handlers):
        if isinstance(handler, BarAwareHandler) or getattr(handler, "stream", sys.stderr) is not sys.stderr:
            continue
        replacement = BarAwareHandler(sys.stderr)
        replacement.setFormatter(handler.formatter)
        replacement.setLevel(handler.level)
        root.removeHandler(handler)
        root.addHandler(replacement)


@contextlib.contextmanager
def api_console(name: str = "rpu_tf") -> Iterator[None]:
    """While a Python API call runs: where the program has configured no logging (no handler on
    the root logger or on ``name``), ``name``'s INFO lines (stages, progress every 30 s, results)
    go to standard error in the commands' format, above any progress bar; TensorFlow's and
    absl's loggers stay at WARNING. A program that configures logging keeps its own setup."""
    package, root = logging.getLogger(name), logging.getLogger()
    if root.handlers or package.handlers:
        yield
        return
    handler = BarAwareHandler(sys.stderr) if sys.stderr.isatty() else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    saved = package.level, package.propagate
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    package.propagate = False
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]
