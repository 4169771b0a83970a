"""Predictions bound for object storage: written to a local file first, then uploaded whole.

An object store shows an object only once its upload has completed (a single PUT, or the
completion of a multipart upload), so a failed or killed job leaves nothing at the output
key, only an incomplete multipart upload that the store never lists (a bucket lifecycle rule
on incomplete uploads removes those). The rejected-rows object of the previous run is
removed just before the new output is uploaded, and this run's is uploaded after it, as a
local run does with its files.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shutil
import tempfile
import time
from pathlib import Path

from regress_core.data.tables import PARQUET_SUFFIXES
from regress_core.errors import ConfigError
from regress_core.fileio import process_alive
from regress_core.objectstore import ObjectFolder
from regress_core.registry.object_storage import local_cache_root
from regress_core.scoring.results import ScoreSummary

STAGING_PATTERN = re.compile(r"^score-(\d+)-")


class RemoteOutput:
    """The predictions object at `url`, and the local file they are written to before upload.

    Args:
        url: Such as `s3://bucket/out/pred.parquet`.
    """

    def __init__(self, url: str) -> None:
        self.url = check_output_url(url)
        parent, self.name = posixpath.split(self.url)
        self.folder = ObjectFolder(parent)
        self.rejected_name = self.name.rsplit(".", 1)[0] + ".rejected.parquet"
        staging_root = local_cache_root() / "scoring"
        staging_root.mkdir(parents=True, exist_ok=True)
        clear_stale_staging(staging_root)
        self.staging = Path(tempfile.mkdtemp(prefix=f"score-{os.getpid()}-", dir=staging_root))
        self.local = self.staging / self.name

    @property
    def rejected_url(self) -> str:
        return self.folder.url_of(self.rejected_name)

    def publish_summary(self, summary: ScoreSummary, started: float) -> ScoreSummary:
        """Upload what a local scoring wrote; the summary then names the objects, the upload timed in."""
        rejected = self.publish(Path(summary.rejected_path) if summary.rejected_path else None)
        return dataclasses.replace(summary, output_path=self.url, rejected_path=rejected, seconds=time.time() - started)

    def publish(self, rejected: Path | None) -> str | None:
        """Upload the output (and its rejected rows); return the rejected rows' URL, if any."""
        if self.folder.exists(self.rejected_name):
            self.folder.remove([self.rejected_name])  # the previous run's: it does not belong to this output
        self.folder.put_file(self.local, self.name)
        if rejected is None:
            return None
        self.folder.put_file(rejected, self.rejected_name)
        return self.rejected_url

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def check_output_url(url: str) -> str:
    """An output URL that names a Parquet object, without a trailing slash."""
    url = url.rstrip("/")
    parent, name = posixpath.split(url)
    if not name.lower().endswith(PARQUET_SUFFIXES) or "://" not in parent:
        raise ConfigError(f"--output must name a Parquet object (.parquet), got {url}")
    return url


def clear_stale_staging(root: Path) -> None:
    """Remove local staging folders of scoring processes that have ended (killed jobs)."""
    for folder in root.iterdir():
        match = STAGING_PATTERN.match(folder.name)
        if match and not process_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
