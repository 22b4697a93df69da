"""Monitoring component: the environment's dashboard, its alarms and their encrypted SNS topic."""

from .construct import RewardMonitoring, dashboard_name
from .reward_metrics import FunctionMetrics

__all__ = ["FunctionMetrics", "RewardMonitoring", "dashboard_name"]
