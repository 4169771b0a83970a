"""The one typed configuration object of a training run, with named presets, and a scoring job's.

`RegressConfig` is the training flow's parameter type: Prefect validates it and draws a
form from it. Defaults live in its sections; a preset (a YAML file in `presets/`) fills the
fields a user did not set. `build_config` and `build_scoring_config` validate what a file,
the command line and `--set section.key=value` overrides give.
"""

from regress_core.config.overrides import (
    build_config,
    build_scoring_config,
    format_validation_error,
    parse_overrides,
    read_config_file,
)
from regress_core.config.presets import PRESETS, PresetName
from regress_core.config.scoring import (
    INTERVAL_COLUMNS,
    INTERVAL_LEVEL_KEY,
    MODEL_LEVEL,
    PREDICTION_COLUMN,
    ScoringConfig,
    interval_clash,
)
from regress_core.config.sections import (
    MODEL_NAME_CHARACTERS,
    DataConfig,
    FeaturesConfig,
    GateConfig,
    ModelConfig,
    ModelKind,
    RegistryConfig,
    RegressConfig,
    SplitConfig,
    TrainConfig,
)

__all__ = [
    "INTERVAL_COLUMNS",
    "INTERVAL_LEVEL_KEY",
    "MODEL_LEVEL",
    "MODEL_NAME_CHARACTERS",
    "PREDICTION_COLUMN",
    "PRESETS",
    "DataConfig",
    "FeaturesConfig",
    "GateConfig",
    "ModelConfig",
    "ModelKind",
    "PresetName",
    "RegistryConfig",
    "RegressConfig",
    "ScoringConfig",
    "SplitConfig",
    "TrainConfig",
    "build_config",
    "build_scoring_config",
    "format_validation_error",
    "interval_clash",
    "parse_overrides",
    "read_config_file",
]
