"""Tables in: sources, readers, the data contract, its validation, the split and the preprocessing."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "contract": [
            "ColumnSpec",
            "DataContract",
            "describe_contract",
            "dump_contract",
            "infer_contract",
            "load_contract",
            "normalize_frame",
            "select_features",
        ],
        "fingerprints": ["load_fingerprints", "row_fingerprints", "save_fingerprints", "seen_mask"],
        "names": ["repeated_names"],
        "preprocessing": ["VIEWS", "Preprocessor"],
        "preprocessor_io": ["load_preprocessor", "save_preprocessor"],
        "sources": ["Source", "default_contract", "load_source", "open_source", "read_source", "source_kind"],
        "simulate": ["Simulation", "simulate_days", "write_partitions", "write_sqlite_table"],
        "split": ["order_by_time", "split_frame"],
        "tables": [
            "CSV_SUFFIXES",
            "PARQUET_SUFFIXES",
            "is_url",
            "missing_filesystem",
            "read_parquet",
            "read_table",
            "write_parquet",
        ],
        "validation": ["validate_frame"],
        "window": ["Window", "backfill_dates", "parse_duration", "parse_instant", "window_for"],
    },
)
