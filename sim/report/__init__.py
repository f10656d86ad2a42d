"""Reading results: the summary, the console table, plots and the HTML report."""
