"""Prefect tasks: thin wrappers over regress_core with caching, retries, logs and artifacts."""
