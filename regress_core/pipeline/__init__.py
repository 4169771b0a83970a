"""The training pipeline's stages, the records they hand each other, cache keys and the workspace."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "backfill": ["BackfillRow", "find_done", "trained_version"],
        "off_limits": ["refuse_managed_output"],
        "records": [
            "Evaluation",
            "ScaledTables",
            "SplitTables",
            "TableRef",
            "TrainedModel",
            "TrainingOutcome",
            "ValidatedTable",
        ],
        "run": ["train_pipeline"],
        "versioning": ["code_version", "stage_key"],
        "workspace": ["Workspace", "check_home"],
    },
)
