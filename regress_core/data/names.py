"""Checks on column names shared by configuration, contracts and readers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def repeated_names(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted."""
    return sorted(name for name, count in Counter(names).items() if count > 1)
