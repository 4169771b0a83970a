"""Command-line arguments that name files and the workspace."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        help="workspace folder or object-storage URL such as s3://bucket/regress (default: $REGRESS_HOME "
        "or ./regress-home)",
    )


def absolute_home(home: str | None) -> str | None:
    """A workspace folder made absolute (flows may run elsewhere); a URL as given."""
    if home is None or "://" in home:
        return home
    return str(Path(home).expanduser().resolve())


def absolute(path: str | None) -> str | None:
    """A local file path made absolute (flows may run elsewhere); names and URLs as given."""
    from regress_core.data.sources import source_kind

    if path is not None and path.startswith("sqlite:///") and not path.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(path.removeprefix("sqlite:///")).expanduser().resolve())
    if path is None or "://" in path or source_kind(path) != "file":
        return path
    return str(Path(path).expanduser().resolve())
