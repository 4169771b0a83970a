"""Object-storage credentials kept in a Prefect block, for machines without `AWS_*` variables.

`REGRESS_STORAGE_BLOCK` names a block document on the Prefect server as `<type slug>/<name>`
(set it in a work pool's or deployment's `env`). Its fields become the default options of
every fsspec filesystem of its protocol in this process and the processes it starts:

- `aws-credentials/<name>` (prefect-aws's block; the package need not be installed here):
  key, secret, session token or profile, region, and from its client parameters the endpoint
  URL, certificate verification, SSL and botocore settings, for s3://;
- `gcp-credentials/<name>`: its service account info (or file), for gs://;
- `azure-blob-storage-credentials/<name>`: its connection string, or the account of its account
  URL signed for by the machine's Azure identity, for az:// and abfs://;
- `remote-file-system/<name>` (Prefect's own): its `settings`, for the protocol of its base path.

The block is read through the API, with its secret fields, each time a command or flow
starts; it needs the server every machine uses (PREFECT_API_URL). Options a caller passes
to a filesystem itself replace the block's of the same name (`client_kwargs` as a whole).
Workers of an existing Dask cluster (`--dask-address`) do not start from this process and
need credentials of their own.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from regress_core.errors import ConfigError
from regress_core.objectstore import use_options

STORAGE_BLOCK_ENV = "REGRESS_STORAGE_BLOCK"
BLOCK_TYPES = ("aws-credentials", "gcp-credentials", "azure-blob-storage-credentials", "remote-file-system")


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", {})}


def fsspec_options(block_type: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The protocols a block's fields serve, with the fsspec options each takes from them.

    Raises:
        ConfigError: a block type regress cannot read credentials from.
    """
    if block_type == "aws-credentials":
        client = data.get("aws_client_parameters") or {}
        verify = client.get("verify_cert_path") or client.get("verify")
        options = _present(
            {
                "key": data.get("aws_access_key_id"),
                "secret": data.get("aws_secret_access_key"),
                "token": data.get("aws_session_token"),
                "profile": data.get("profile_name"),
                "use_ssl": client.get("use_ssl"),
                "client_kwargs": _present(
                    {
                        "region_name": data.get("region_name"),
                        "endpoint_url": client.get("endpoint_url"),
                        "verify": verify,
                    }
                ),
                "config_kwargs": client.get("config"),
            }
        )
        return [("s3", options)]
    if block_type == "gcp-credentials":
        token = data.get("service_account_info") or data.get("service_account_file")
        return [("gcs", _present({"token": token, "project": data.get("project")}))]
    if block_type == "azure-blob-storage-credentials":
        connection, url = data.get("connection_string"), str(data.get("account_url") or "")
        host = urlsplit(url).hostname if url else None
        account = host.split(".", 1)[0] if host else None
        # With an account and no connection string, the machine's Azure identity signs the requests.
        options = _present({"connection_string": connection, "account_name": None if connection else account})
        if "account_name" in options:
            options["anon"] = False
        return [("az", options), ("abfs", options)]
    if block_type == "remote-file-system":
        basepath = str(data.get("basepath") or "")
        if "://" not in basepath:
            raise ConfigError(f"the remote-file-system block's basepath {basepath!r} names no protocol (s3://...)")
        return [(basepath.split("://", 1)[0], dict(data.get("settings") or {}))]
    raise ConfigError(
        f"{STORAGE_BLOCK_ENV} names a {block_type} block; regress reads credentials from {', '.join(BLOCK_TYPES)}"
    )


def apply_storage_block(reference: str | None = None) -> str | None:
    """Use the credentials of the block `reference` (default: $REGRESS_STORAGE_BLOCK); return it.

    Raises:
        ConfigError: the reference is malformed, no server is configured, or the server has no such block.
    """
    reference = reference or os.environ.get(STORAGE_BLOCK_ENV)
    if not reference:
        return None
    block_type, _, name = reference.partition("/")
    if not block_type or not name:
        raise ConfigError(f"{STORAGE_BLOCK_ENV}={reference!r} is not <block type>/<name>, e.g. aws-credentials/regress")
    if not PREFECT_API_URL.value():
        raise ConfigError(
            f"{STORAGE_BLOCK_ENV}={reference} needs the Prefect server that holds the block: set PREFECT_API_URL"
        )
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug=block_type, include_secrets=True)
        except ObjectNotFound:
            missing = f"the Prefect server has no {block_type} block named {name!r} ({STORAGE_BLOCK_ENV}={reference})"
            raise ConfigError(missing) from None
    for protocol, options in fsspec_options(block_type, dict(document.data)):
        use_options(protocol, options)
    return reference
