"""regress core: all pipeline logic, independent of the orchestrator.

Nothing in this package imports Prefect, so batch jobs and notebooks can use it alone.
"""

__version__ = "0.1.0"
