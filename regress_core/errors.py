"""Error classes a user can meet, each mapped to a documented process exit code."""

from __future__ import annotations


class RegressError(Exception):
    """Base class for errors reported to a person as one line."""

    exit_code = 1


class ConfigError(RegressError):
    """Bad configuration or command-line usage."""

    exit_code = 2


class DataError(RegressError):
    """Input data that cannot be read or breaks the data contract."""

    exit_code = 3


class DataValidationError(DataError):
    """Input data that fails its data contract; carries the report and the contract's name."""

    def __init__(self, message: str, *, report: object | None = None, contract_name: str | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.contract_name = contract_name


class TrainingError(RegressError):
    """Training could not produce a usable model (for example a diverging loss)."""

    exit_code = 4


class RegistryError(RegressError):
    """A model package or the registry is missing, incomplete or tampered with."""

    exit_code = 4
