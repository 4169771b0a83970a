"""Secrets from the environment or an owner-only file; no Prefect stack past loopback without auth."""

from __future__ import annotations

import httpx
import pytest

from regress_cli.local_server import check_bind, stack_environment
from regress_cli.main import main
from regress_cli.prefect_api import api_refusal
from regress_core.errors import ConfigError
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.signing import signing_key


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    path = tmp_path / "signing.key"
    path.touch(mode=0o600)
    path.write_text("a-long-random-key\n")
    monkeypatch.setenv("REGRESS_SIGNING_KEY_FILE", str(path))
    return path


def test_the_signing_key_is_read_from_an_owner_only_file(key_file):
    assert signing_key() == b"a-long-random-key"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_a_signing_key_file_others_can_read_or_write_is_refused(key_file, mode):
    key_file.chmod(mode)
    with pytest.raises(ConfigError) as refused:
        signing_key()
    assert str(refused.value) == (
        f"REGRESS_SIGNING_KEY_FILE={key_file} can be read or written by others than its owner (mode {mode:o}): "
        f"make it owner-only with `chmod 600 {key_file}`"
    )


def test_an_empty_or_missing_signing_key_file_is_refused(key_file, monkeypatch):
    key_file.write_text("\n")
    with pytest.raises(ConfigError, match=r"REGRESS_SIGNING_KEY_FILE=.* is empty: write the signing key into it"):
        signing_key()
    key_file.unlink()
    with pytest.raises(ConfigError, match=r"REGRESS_SIGNING_KEY_FILE=.* cannot be read: No such file or directory"):
        signing_key()


def test_a_signing_key_set_both_ways_is_refused(key_file, monkeypatch):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", "another-key")
    with pytest.raises(ConfigError, match="both REGRESS_SIGNING_KEY and REGRESS_SIGNING_KEY_FILE are set"):
        signing_key()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "localhost"])
def test_loopback_needs_no_auth_string(host, monkeypatch):
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    check_bind(host)


def test_ui_start_past_loopback_without_an_auth_string_refuses_before_starting(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    home = tmp_path / "home"
    assert main(["ui", "start", "--host", "0.0.0.0", "--home", str(home)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("regress: error: refusing to serve the Prefect API on 0.0.0.0 without authentication")
    assert "set PREFECT_SERVER_API_AUTH_STRING=user:password" in err
    assert "PREFECT_API_AUTH_STRING" in err.split("PREFECT_SERVER_API_AUTH_STRING", 1)[1]
    assert len(err.splitlines()) == 1
    assert not (home / "ui").exists()


def test_with_an_auth_string_the_stack_serves_past_loopback_and_its_clients_send_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "admin:s3cret")
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    check_bind("0.0.0.0")
    env = stack_environment(Workspace.at(str(tmp_path / "home")), 4300, "0.0.0.0")
    assert (env["PREFECT_SERVER_API_HOST"], env["PREFECT_API_AUTH_STRING"]) == ("0.0.0.0", "admin:s3cret")
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4300/api"


def refusal_of(status: int, url: str) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", url)
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


def test_a_refusal_met_inside_a_flow_is_one_line_naming_the_api_and_the_setting():
    try:
        try:
            raise refusal_of(401, "http://10.0.0.5:4200/api/block_documents/filter")
        except httpx.HTTPStatusError as exc:
            raise RuntimeError("the flow run failed") from exc
    except RuntimeError as wrapped:
        error = api_refusal(wrapped)
    assert error is not None
    assert str(error) == (
        "the Prefect API at http://10.0.0.5:4200/api refused this client (401 Unauthorized): "
        "check PREFECT_API_AUTH_STRING (or PREFECT_API_KEY) against the server's"
    )
    assert error.exit_code == 4


def test_other_failures_are_not_refusals():
    assert api_refusal(refusal_of(404, "http://10.0.0.5:4200/api/flows/x")) is None
    assert api_refusal(ValueError("no")) is None
