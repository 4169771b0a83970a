"""Predictions checked against the true values that arrive later: the join, and error by day."""

from regress_core.monitoring.daily import DayError, day_error, degraded, errors_by_day, window_error
from regress_core.monitoring.join import ACTUAL, PREDICTION, join_actuals

__all__ = ["ACTUAL", "PREDICTION", "DayError", "day_error", "degraded", "errors_by_day", "join_actuals", "window_error"]
