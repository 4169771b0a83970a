"""How good a model is: metrics and baselines, plots, the HTML report and drift profiles."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "drift": ["DriftCounter", "feature_profile"],
        "metrics": ["METRIC_NAMES", "baseline_metrics", "regression_metrics"],
        "plots": ["plot_loss_curves", "plot_predictions"],
        "report": ["describe_budget", "describe_selection", "metrics_rows", "render_report", "selection_rows"],
    },
)
