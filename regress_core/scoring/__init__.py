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
        "dated": ["backfill_days", "dated_location", "for_day", "scoring_day"],
        "ledger": ["LedgerEntry", "ScoringLedger"],
        "partitions": ["ScoringPlan", "combine_partitions", "discard_parts", "plan_scoring", "score_partition"],
        "predict": ["PRECISIONS", "scoring_precision"],
        "ranges": ["DEFAULT_PARTITION_ROWS", "FileRange", "cut_ranges"],
        "results": ["PartResult", "ScoreSummary", "ScoringSkipped"],
        "sql_io": ["read_sql_batches", "save_sql_input", "write_sql_predictions"],
        "streaming": ["score", "score_stream"],
        "writers": ["AtomicParquet"],
        "outputs": ["Stamp"],
    },
)
