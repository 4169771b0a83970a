"""Batch scoring: streaming predictions, partitions for a cluster, contract checks and atomic writers.

`score` scores an input file, folder or glob into one predictions file in a single process;
`plan_scoring`, `score_partition` and `combine_partitions` do the same across workers, with
exactly the same predictions. Inputs and outputs may be local paths or object-storage URLs.
"""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "batches": ["DEFAULT_BATCH_ROWS", "expand_inputs", "iter_batches"],
        "checks": ["BatchCheck", "check_batch"],
        "partitions": ["ScoringPlan", "combine_partitions", "discard_parts", "plan_scoring", "score_partition"],
        "predict": ["PRECISIONS", "scoring_precision"],
        "ranges": ["DEFAULT_PARTITION_ROWS", "FileRange", "cut_ranges"],
        "results": ["PartResult", "ScoreSummary"],
        "streaming": ["score", "score_stream"],
        "writers": ["AtomicParquet"],
    },
)
