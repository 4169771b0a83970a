"""Batch scoring: streaming predictions, partitions for a cluster, contract checks and atomic writers.

`score` scores an input file, folder or glob into one predictions file in a single process;
`plan_scoring`, `score_partition` and `combine_partitions` do the same across workers, with
exactly the same predictions. Inputs and outputs may be local paths or object-storage URLs.
"""

from regress_core.scoring.batches import DEFAULT_BATCH_ROWS, expand_inputs, iter_batches
from regress_core.scoring.checks import BatchCheck, check_batch
from regress_core.scoring.partitions import (
    ScoringPlan,
    combine_partitions,
    discard_parts,
    plan_scoring,
    score_partition,
)
from regress_core.scoring.predict import PRECISIONS, scoring_precision
from regress_core.scoring.ranges import DEFAULT_PARTITION_ROWS, FileRange, cut_ranges
from regress_core.scoring.results import PartResult, ScoreSummary
from regress_core.scoring.streaming import score, score_stream
from regress_core.scoring.writers import AtomicParquet

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_PARTITION_ROWS",
    "PRECISIONS",
    "AtomicParquet",
    "BatchCheck",
    "FileRange",
    "PartResult",
    "ScoreSummary",
    "ScoringPlan",
    "check_batch",
    "combine_partitions",
    "cut_ranges",
    "discard_parts",
    "expand_inputs",
    "iter_batches",
    "plan_scoring",
    "score",
    "score_partition",
    "score_stream",
    "scoring_precision",
]
