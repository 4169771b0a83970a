"""Predictions checked against the true values that arrive later: the join, error by day, the window's report."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "daily": ["DayError", "day_error", "degraded", "errors_by_day", "window_error"],
        "join": ["ACTUAL", "PREDICTION", "describe_key", "join_actuals", "key_columns", "unmatched_actuals"],
        "plots": ["plot_errors_by_day", "png_markdown"],
        "reading": ["read_days", "stamped_version"],
        "report": ["Lookup", "MonitorReport", "Reference", "join_days", "monitor_window", "monitored_days"],
    },
)
