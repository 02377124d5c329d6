"""Progress bar with ETA on a terminal (rank 0), plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

LOG = logging.getLogger("femsim.progress")


class Progress:
    """Report a fraction in [0, 1] with an ETA.

    Args:
        enabled: draw a bar (only if stderr is a terminal and this is rank 0).
        log_every_s: interval of log lines when no bar is drawn.
    """

    def __init__(self, enabled: bool, rank: int = 0, log_every_s: float = 15.0, width: int = 30):
        self.bar = enabled and rank == 0 and sys.stderr.isatty()
        self.rank = rank
        self.t0 = time.monotonic()
        self.last_log = -1e9
        self.log_every_s = log_every_s
        self.width = width

    def update(self, fraction: float, text: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        elapsed = time.monotonic() - self.t0
        eta = elapsed * (1 - fraction) / fraction if fraction > 1e-6 else float("nan")
        eta_txt = f"{int(eta // 60)}m{int(eta % 60):02d}s" if eta == eta else "?"
        if self.bar:
            filled = int(self.width * fraction)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {100 * fraction:5.1f}% {text} "
                             f"ETA {eta_txt}   ")
            sys.stderr.flush()
        elif self.rank == 0 and elapsed - self.last_log >= self.log_every_s:
            self.last_log = elapsed
            LOG.info("%5.1f%% %s, elapsed %.0f s, ETA %s", 100 * fraction, text, elapsed, eta_txt)

    def close(self) -> None:
        if self.bar:
            sys.stderr.write("\n")
            sys.stderr.flush()
