"""Databases as sources and sinks: URLs without passwords, Arrow reads, one-line failures."""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "failures": ["database_error"],
        "reading": [
            "TIMEOUT_ENV",
            "bind_names",
            "bind_time",
            "check_connection",
            "engine_name",
            "iter_arrow_batches",
            "read_arrow",
            "sql_engine",
        ],
        "urls": [
            "PASSWORD_ENV",
            "database_password",
            "is_sql_url",
            "check_sql_settings",
            "parse_sql_url",
            "password_given",
            "scrub",
            "shown_url",
            "use_password",
        ],
    },
)
