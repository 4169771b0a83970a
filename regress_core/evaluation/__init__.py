"""How good a model is: metrics and baselines, importance, plots, the HTML report and drift profiles."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "drift": ["DriftCounter", "feature_profile"],
        "explanations": ["Explanations", "explain", "explain_predictions", "plot_explanations"],
        "importance": ["permutation_importance"],
        "metrics": ["METRIC_NAMES", "baseline_metrics", "error_by_category", "regression_metrics"],
        "plots": [
            "plot_error_by_category",
            "plot_importance",
            "plot_loss_curves",
            "plot_predictions",
            "plot_test_and_training",
        ],
        "report": ["describe_budget", "describe_selection", "metrics_rows", "render_report", "selection_rows"],
    },
)
