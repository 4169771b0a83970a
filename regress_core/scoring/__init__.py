"""Batch scoring: streaming predictions, partitions for a cluster, contract checks and atomic writers."""
