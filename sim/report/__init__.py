"""Reading results: a finished results folder (or the rows an experiment just made) becomes the
summary with intervals over seeds, the console table, the plots and the self-contained
``report.html``. The workflow wings (run/, offline/, abtest/) call down into it; it imports none of
them, only the metric registry (sim/metrics/) and the shared statistics (sim/stats/)."""

from banditsim.sim.report.cold_start_view import new_item_share, plot_cold_start
from banditsim.sim.report.console_table import print_summary
from banditsim.sim.report.dimension_views import plot_dimensions, plot_segments
from banditsim.sim.report.embedding_map import plot_embedding_map
from banditsim.sim.report.experiment_plots import plot_estimates, plot_power
from banditsim.sim.report.explanations import Explainer
from banditsim.sim.report.html_report import redraw, write_report
from banditsim.sim.report.neighbours import nearest_neighbours
from banditsim.sim.report.plots import plot_results, read_columns
from banditsim.sim.report.result_documents import read_json, run_documents
from banditsim.sim.report.summary import format_interval, summarise

__all__ = ["Explainer", "format_interval", "nearest_neighbours", "new_item_share", "plot_cold_start",
           "plot_dimensions", "plot_embedding_map", "plot_estimates", "plot_power", "plot_results",
           "plot_segments", "print_summary", "read_columns", "read_json", "redraw", "run_documents",
           "summarise", "write_report"]
