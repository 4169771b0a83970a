"""A database's failures as one line a person can act on, with no password in it.

Drivers raise their own exceptions (libpq's through ADBC or psycopg, sqlite3's); what they
mean is read from the message, the way a person would: a refused login, an unreachable
server, an unknown table or database, a query that is wrong or ran too long.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from regress_core.data.sql.urls import WHERE_PASSWORDS_GO, address, scrub, shown_url
from regress_core.errors import ConfigError, RegressError, ServiceError

UNREACHABLE = (
    "connection refused",
    "could not connect",
    "could not translate host name",
    "name or service not known",
    "no route to host",
    "network is unreachable",
    "timeout expired",
    "server closed the connection",
    "connection timed out",
)
LOGIN = ("password authentication failed", "no password supplied", "authentication failed", "pg_hba.conf")
UNKNOWN_TABLE = ("does not exist", "no such table", "no such column")
TIMEOUT = ("statement timeout", "canceling statement due to", "query_canceled")


def first_line(exc: BaseException) -> str:
    """The driver's own message, cut to its first meaningful line."""
    text = str(exc).strip()
    for prefix in ("IO: ", "NOT_FOUND: ", "INVALID_ARGUMENT: ", "UNKNOWN: ", "[libpq] ", "Failed to prepare query: "):
        text = text.replace(prefix, "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    # libpq puts its own context first ("Execution error [PGRES_FATAL_ERROR]: ERROR:  ..."): keep the server's words.
    return re.split(r"\b(?:ERROR|FATAL):", lines[0])[-1].strip()


def database_error(exc: BaseException, url: URL, *, timeout_s: float | None = None) -> RegressError:
    """The one-line error for a failed connection or query against the database at `url`.

    Returns:
        ServiceError for an unreachable server, a refused login or a timeout (exit 4),
        ConfigError for an unknown database, table or column, or a query the database refuses (exit 2).
    """
    if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ is not None:
        exc = exc.__cause__  # pandas wraps SQLAlchemy's error with the statement (and its values)
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig  # the driver's own message, without SQLAlchemy's statement and links
    reason = scrub(first_line(exc))
    lowered = str(exc).lower()
    where, shown = address(url), shown_url(url)
    if any(sign in lowered for sign in LOGIN):
        return ServiceError(
            f"the database at {where} refused the login of {url.username!r}: {reason}; {WHERE_PASSWORDS_GO}"
        )
    if any(sign in lowered for sign in TIMEOUT) or "57014" in lowered:
        limit = f" ({timeout_s:g} s)" if timeout_s else ""
        return ServiceError(f"the query to {shown} ran past its time limit{limit}: {reason}")
    if any(sign in lowered for sign in UNREACHABLE):
        return ServiceError(
            f"cannot reach the database at {where}: {reason}; "
            f"check that it runs and that {shown} names its host and port"
        )
    if "unable to open database file" in lowered:
        return ConfigError(f"cannot open the SQLite database {where}: {reason}")
    if "database" in lowered and "does not exist" in lowered:
        return ConfigError(f"{shown}: {reason}")
    if any(sign in lowered for sign in UNKNOWN_TABLE):
        return ConfigError(f"unknown table or column in {shown}: {reason}")
    return ConfigError(f"the query to {shown} failed: {reason}")
