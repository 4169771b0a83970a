"""How good a model is: metrics and baselines, plots, the HTML report and drift profiles."""
