"""Object-storage credentials read from a Prefect block (REGRESS_STORAGE_BLOCK)."""

import json
import os
import uuid

import fsspec
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentCreate

from regress_cli.main import main
from regress_core.errors import ConfigError
from tasks.storage import apply_storage_block, fsspec_options


def create_block(block_type: str, data: dict) -> str:
    """A block document of a type the server knows (prefect-aws's too, without the package), by reference."""
    name = f"regress-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        kind = client.read_block_type_by_slug(block_type)
        schema = client.get_most_recent_block_schema_for_block_type(kind.id)
        assert schema is not None
        client.create_block_document(
            BlockDocumentCreate(name=name, data=data, block_type_id=kind.id, block_schema_id=schema.id)
        )
    return f"{block_type}/{name}"


@pytest.fixture
def clean_s3_config(monkeypatch):
    monkeypatch.delenv("FSSPEC_S3", raising=False)
    saved = fsspec.config.conf.pop("s3", None)
    yield
    fsspec.config.conf.pop("s3", None)
    os.environ.pop("FSSPEC_S3", None)
    if saved is not None:
        fsspec.config.conf["s3"] = saved


def test_an_aws_credentials_block_gives_every_s3_filesystem_its_keys_and_endpoint(clean_s3_config):
    reference = create_block(
        "aws-credentials",
        {
            "aws_access_key_id": "regress-key",
            "aws_secret_access_key": "regress-secret",
            "region_name": "eu-west-1",
            "aws_client_parameters": {"endpoint_url": "http://127.0.0.1:8333"},
        },
    )
    assert apply_storage_block(reference) == reference
    expected = {
        "key": "regress-key",
        "secret": "regress-secret",
        "client_kwargs": {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:8333"},
    }
    assert fsspec.config.conf["s3"] == expected
    assert json.loads(os.environ["FSSPEC_S3"]) == expected  # what a Dask worker process starts with
    fs = fsspec.filesystem("s3")
    assert (fs.key, fs.secret, fs.client_kwargs["endpoint_url"]) == (
        "regress-key",
        "regress-secret",
        expected["client_kwargs"]["endpoint_url"],
    )


def test_other_block_types_map_to_their_filesystems():
    assert fsspec_options("remote-file-system", {"basepath": "gcs://b/regress", "settings": {"token": "anon"}}) == [
        ("gcs", {"token": "anon"})
    ]
    assert fsspec_options("gcp-credentials", {"service_account_info": {"type": "service_account"}, "project": "p"}) == [
        ("gcs", {"token": {"type": "service_account"}, "project": "p"})
    ]
    azure = fsspec_options("azure-blob-storage-credentials", {"connection_string": "AccountName=a;AccountKey=k"})
    assert azure == [
        ("az", {"connection_string": "AccountName=a;AccountKey=k"}),
        ("abfs", {"connection_string": "AccountName=a;AccountKey=k"}),
    ]
    identity = fsspec_options("azure-blob-storage-credentials", {"account_url": "https://acct.blob.core.windows.net"})
    assert identity[0] == ("az", {"account_name": "acct", "anon": False})
    minio = fsspec_options(
        "aws-credentials",
        {"aws_client_parameters": {"endpoint_url": "https://minio:9000", "verify": False, "config": {"s3": {}}}},
    )
    assert minio == [
        ("s3", {"client_kwargs": {"endpoint_url": "https://minio:9000", "verify": False}, "config_kwargs": {"s3": {}}})
    ]
    with pytest.raises(ConfigError, match="basepath 'bucket/regress' names no protocol"):
        fsspec_options("remote-file-system", {"basepath": "bucket/regress"})
    with pytest.raises(ConfigError, match="names a secret block; regress reads credentials from aws-credentials"):
        fsspec_options("secret", {"value": "x"})


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("aws-credentials", "REGRESS_STORAGE_BLOCK='aws-credentials' is not <block type>/<name>"),
        ("aws-credentials/nowhere", "the Prefect server has no aws-credentials block named 'nowhere'"),
    ],
)
def test_a_bad_block_reference_is_one_line_and_exit_2(reference, message, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("REGRESS_STORAGE_BLOCK", reference)
    assert main(["models", "list", "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regress: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_block_without_a_configured_server_is_refused(monkeypatch, capsys, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("REGRESS_STORAGE_BLOCK", "aws-credentials/regress")
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert main(["models", "list", "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert "needs the Prefect server that holds the block: set PREFECT_API_URL" in err
