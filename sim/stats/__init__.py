"""Statistics the other wings share: a mean with its Student-t interval over seeds, bands over
time, error bars, and the A/B test's Welch comparison with its power, sample size and p-value text.
It imports no other wing, so run/, report/, abtest/ and studies/ all stand on it."""

from banditsim.sim.stats.intervals import band, error_bars, mean_ci
from banditsim.sim.stats.two_sample import format_p, p_text, power, required_n, welch, wilson

__all__ = ["band", "error_bars", "format_p", "mean_ci", "p_text", "power", "required_n", "welch", "wilson"]
