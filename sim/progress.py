"""Progress for the experiment side (cells, fitting): the same counters as :mod:`banditsim.envs.progress`.

On a terminal a tqdm bar; off one (a log file, CI) a plain line at least every 10 s with
done/total, rate and ETA. ``BANDITSIM_PROGRESS_SECONDS`` sets the interval,
``BANDITSIM_PROGRESS=off`` silences the lines.
"""

from __future__ import annotations

from banditsim.envs.progress import LineProgress, line_interval, lines_enabled, progress_bar, progress_line

__all__ = ["LineProgress", "line_interval", "lines_enabled", "progress_bar", "progress_line"]
