"""Database URLs: which sources are databases, what a URL may carry, and how it is shown.

A URL names the database and the user, never the password: the password comes from
`REGRESS_DB_PASSWORD`, from the driver's own environment (`PGPASSWORD`, `~/.pgpass`), or from
a Prefect Secret block that the orchestrator reads and hands in with `use_password`. A URL is
shown with its password hidden, so it can go into logs, records and cache keys.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from regress_core.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

PASSWORD_ENV = "REGRESS_DB_PASSWORD"
# Backend to the drivers regress connects with (None: SQLAlchemy's default for it).
DRIVERS = {"sqlite": (None, "pysqlite"), "postgresql": (None, "psycopg")}
# Schemes read as databases so that a person gets "unsupported" rather than "unknown protocol".
OTHER_DATABASES = ("postgres", "mysql", "mariadb", "mssql", "oracle", "duckdb", "snowflake")
EXAMPLES = "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/database"
WHERE_PASSWORDS_GO = (
    f"set {PASSWORD_ENV} (or PGPASSWORD, or ~/.pgpass), or name a Prefect Secret block in data.secret_block"
)

_given_password: str | None = None


def is_sql_url(location: str) -> bool:
    """Whether a source or output names a database (`sqlite://`, `postgresql://`, `postgresql+psycopg://`)."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.split("+", 1)[0].lower() in {*DRIVERS, *OTHER_DATABASES}


def parse_sql_url(location: str) -> URL:
    """The URL of a database regress can read and write.

    Raises:
        ConfigError: a malformed URL, an unsupported backend or driver, a URL that carries a
            password (saying where to put it instead), or an SQLite URL without a file.
    """
    from sqlalchemy.engine import make_url  # only where a URL is read: checking a source's kind stays cheap
    from sqlalchemy.exc import ArgumentError

    scheme = location.partition("://")[0]
    try:
        url = make_url(location)
    except ArgumentError:
        raise ConfigError(f"{scheme}:// ... is not a database URL such as {EXAMPLES}") from None
    if url.password is not None:
        shown = url.render_as_string(hide_password=True)
        raise ConfigError(
            f"the database URL {shown} carries a password: remove it from the URL and {WHERE_PASSWORDS_GO}"
        )
    backend, driver = url.get_backend_name(), url.drivername.partition("+")[2] or None
    if backend not in DRIVERS or driver not in DRIVERS[backend]:
        raise ConfigError(
            f"unsupported database URL scheme {url.drivername}://: use {EXAMPLES} (drivers: sqlite, postgresql+psycopg)"
        )
    if backend == "sqlite" and not url.database:
        raise ConfigError(f"{location} names no database file: give sqlite:///path/to/file.db")
    return url


def check_sql_settings(
    source: str, *, table: str | None = None, query: str | None = None, secret_block: str | None = None
) -> None:
    """Refuse a database source without exactly one of a table and a query, and those settings elsewhere.

    Raises:
        ConfigError: naming the settings to give or to remove.
    """
    if not is_sql_url(source):
        given = [name for name, value in (("table", table), ("query", query), ("secret_block", secret_block)) if value]
        if given:
            settings = " and ".join(f"data.{name}" for name in given)
            raise ConfigError(f"{settings} need a database source (sqlite:///..., postgresql+psycopg://...)")
        return
    parse_sql_url(source)
    if (table is None) == (query is None):
        raise ConfigError("a database source needs exactly one of data.table and data.query")


def shown_url(location: str | URL) -> str:
    """A URL as it may be shown anywhere: with any password hidden."""
    from sqlalchemy.engine import make_url

    url = make_url(location) if isinstance(location, str) else location
    return url.render_as_string(hide_password=True)


def address(url: URL) -> str:
    """Where a database is: `host:port` for a server, the file for SQLite."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def use_password(password: str | None) -> None:
    """Hand in the password read from a secret store, for this process's database connections.

    It is kept in memory only: never in the configuration, a record or a log.
    """
    global _given_password  # one process-wide value, like the driver's own environment
    _given_password = password or None


def password_given() -> bool:
    """Whether a password from a secret store was handed in with `use_password`."""
    return _given_password is not None


def database_password(explicit: str | None = None) -> str | None:
    """The password to connect with: given here, handed in by `use_password`, or `$REGRESS_DB_PASSWORD`.

    None leaves it to the driver (`PGPASSWORD`, `~/.pgpass`, or no password at all).
    """
    return explicit or _given_password or os.environ.get(PASSWORD_ENV) or None


def known_passwords() -> list[str]:
    """Every password this process may connect with, so that messages can be cleaned of them."""
    candidates = (_given_password, os.environ.get(PASSWORD_ENV), os.environ.get("PGPASSWORD"))
    return [value for value in candidates if value]


def scrub(text: str, password: str | None = None) -> str:
    """`text` with every known password replaced by `***`."""
    for secret in sorted({*known_passwords(), *([password] if password else [])}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
