"""Outputs a person names are refused inside the workspace's managed folders, however the path is spelled."""

import os
from pathlib import Path

import pytest

from regress_core.errors import ConfigError
from regress_core.pipeline.off_limits import MANAGED_FOLDERS, refuse_managed_output
from regress_core.pipeline.workspace import Workspace


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    root = tmp_path / "home"
    version = root / "registry" / "models" / "m" / "versions" / "v0001"
    version.mkdir(parents=True)
    (version / "model.pt").write_bytes(b"weights")
    for name in MANAGED_FOLDERS[1:]:
        (root / name).mkdir()
    return Workspace.at(root)


def refused_folder(location, workspace) -> str:
    with pytest.raises(ConfigError) as caught:
        refuse_managed_output(location, workspace)
    message = str(caught.value)
    assert "\n" not in message
    assert "write outputs outside the workspace" in message
    return message


@pytest.mark.parametrize("folder", MANAGED_FOLDERS)
def test_a_path_inside_each_managed_folder_is_refused_and_the_folder_named(workspace, folder):
    message = refused_folder(workspace.root / folder / "sub" / "preds.parquet", workspace)
    assert f"managed folder {workspace.root.resolve() / folder}:" in message


def test_a_model_versions_folder_is_refused(workspace):
    target = workspace.root / "registry" / "models" / "m" / "versions" / "v0001" / "preds.parquet"
    message = refused_folder(target, workspace)
    assert str(workspace.root.resolve() / "registry") in message
    assert message.startswith(f"--output {target} is inside")


def test_dot_dot_segments_are_seen_through(workspace, tmp_path):
    refused_folder(tmp_path / "elsewhere" / ".." / "home" / "cache" / "x.parquet", workspace)


def test_a_symlink_into_the_registry_is_seen_through(workspace, tmp_path):
    link = tmp_path / "innocent"
    link.symlink_to(workspace.root / "registry" / "models" / "m" / "versions" / "v0001")
    refused_folder(link / "preds.parquet", workspace)


def test_a_hard_link_to_a_registry_file_is_refused(workspace, tmp_path):
    link = tmp_path / "preds.parquet"
    os.link(workspace.root / "registry" / "models" / "m" / "versions" / "v0001" / "model.pt", link)
    message = refused_folder(link, workspace)
    assert str(workspace.root.resolve() / "registry") in message


def test_paths_outside_the_managed_folders_pass(workspace, tmp_path):
    refuse_managed_output(tmp_path / "preds.parquet", workspace)
    refuse_managed_output(workspace.root / "preds.parquet", workspace)  # the workspace's own top level holds no model
    refuse_managed_output(workspace.root / "registry-copy" / "preds.parquet", workspace)
    refuse_managed_output("s3://bucket/preds.parquet", workspace)
    other = tmp_path / "mine.parquet"
    other.write_bytes(b"x")
    os.link(other, tmp_path / "second-name.parquet")  # a hard link, but not into the workspace
    refuse_managed_output(other, workspace)


def test_the_option_is_named(workspace):
    with pytest.raises(ConfigError, match=r"^--contract-output "):
        refuse_managed_output(workspace.root / "reports" / "c.yaml", workspace, option="--contract-output")


@pytest.mark.parametrize(
    "url",
    [
        "s3://bucket/ws/registry/models/m/versions/v0001/preds.parquet",
        "s3://bucket//ws/./registry/preds.parquet",
        "s3://bucket/other/../ws/cache/preds.parquet",
        "S3://bucket/ws/reports/preds.parquet",
    ],
)
def test_a_prefix_of_a_workspace_in_object_storage_is_refused(url, monkeypatch, tmp_path):
    monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / "cache"))
    message = refused_folder(url, Workspace.at("s3://bucket/ws"))
    assert "s3://bucket/ws/" in message


def test_other_prefixes_of_the_bucket_pass(monkeypatch, tmp_path):
    monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / "cache"))
    workspace = Workspace.at("s3://bucket/ws")
    refuse_managed_output("s3://bucket/ws-scores/preds.parquet", workspace)
    refuse_managed_output("s3://bucket/ws/scores/preds.parquet", workspace)
    refuse_managed_output("gs://bucket/ws/registry/preds.parquet", workspace)


def test_this_machines_cache_of_a_remote_workspace_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / "cache"))
    workspace = Workspace.at("s3://bucket/ws")
    message = refused_folder(tmp_path / "cache" / "packages" / "m-abc" / "preds.parquet", workspace)
    assert str(Path(tmp_path / "cache").resolve()) in message
