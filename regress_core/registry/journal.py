"""Reading the registry's JSON records and append-only logs, and mending what a crash or a person damaged.

A crash while appending to a local log leaves a torn last line (no newline at its end):
readers skip it, and the next writer, holding the lock, cuts it off before appending. Any
other damage (a truncated `champion.json`, a malformed line inside a log, a pointer whose
version is not a version name) is refused with one line naming the file and the fault, and
`RegisteredModel.repair` (the `regress models repair` command) mends it without losing what
can still be read: damaged log lines are moved to a `.damaged` file beside the log, and the
champion pointer is rebuilt from the audit history.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regress_core.errors import RegistryError
from regress_core.fileio import atomic_write_text


def utc_now() -> str:
    """The time now in UTC, to the second, as ISO 8601 (the time stamp of every registry record)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class DamagedFile(Exception):
    """A registry file that is there but cannot be read as what it should hold.

    Storage raises it without knowing the model; the model's reader turns it into the
    `damaged` error that names the repair command.

    Args:
        where: The file as a person finds it (a path or a URL).
        fault: What is wrong with it, in words.
    """

    def __init__(self, where: str, fault: str) -> None:
        super().__init__(f"{where}: {fault}")
        self.where = where
        self.fault = fault


def damaged(where: str, fault: str, *, model: str) -> RegistryError:
    """The error for a damaged registry file, with the repair a person can run."""
    return RegistryError(
        f"registry file {where} is damaged ({fault}); run `regress models repair {model}` to mend it from the "
        "audit history (nothing readable is lost), or restore the file from a backup"
    )


def parse_json(data: bytes, *, where: str) -> Any:
    """The content of a JSON document.

    Raises:
        DamagedFile: the document is not UTF-8, is empty or is not JSON.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFile(where, f"unreadable: {exc}") from exc
    if not text.strip():
        raise DamagedFile(where, "it is empty")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DamagedFile(where, f"not valid JSON: {exc}") from exc


def _split_log(path: Path) -> tuple[list[tuple[int, str]], str]:
    """Complete lines with their numbers, and the torn tail (text after the last newline)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], ""
    body, _, tail = text.rpartition("\n")
    lines = [(number, line) for number, line in enumerate(body.split("\n"), start=1) if body and line.strip()]
    return lines, tail


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a local append-only JSON-lines log, oldest first; a torn last line is skipped.

    Raises:
        DamagedFile: a complete line is not a JSON object.
    """
    records = []
    for number, line in _split_log(path)[0]:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise DamagedFile(str(path), f"line {number} is not a JSON record: {line[:60]!r}")
        records.append(record)
    return records


def cut_torn_tail(path: Path) -> bool:
    """Remove a torn last line, so the next append starts on a line of its own; callers hold the lock."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size == 0:
        return False
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return False
        handle.seek(0)
        keep = handle.read().rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def set_damaged_lines_aside(path: Path) -> int:
    """Move lines that are not JSON records to `<log>.damaged`, keeping the rest in order; callers hold the lock.

    Returns:
        How many lines were moved.
    """
    lines, tail = _split_log(path)
    good: list[str] = []
    bad: list[str] = []
    for _, line in lines:
        try:
            ok = isinstance(json.loads(line), dict)
        except ValueError:
            ok = False
        (good if ok else bad).append(line)
    if tail.strip():
        bad.append(tail)
    if not bad:
        return 0
    with open(path.with_name(path.name + ".damaged"), "a", encoding="utf-8") as aside:
        aside.write("".join(line + "\n" for line in bad))
        aside.flush()
        os.fsync(aside.fileno())
    atomic_write_text(path, "".join(line + "\n" for line in good))
    return len(bad)
