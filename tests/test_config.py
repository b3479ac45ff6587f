"""get_node: nodes saved by the upstream `joule` CLI, or named by the environment."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import certifi
import pytest

from joule_sync import ConfigurationError, Node, get_node
from joule_sync import _config as config_module

KEY_A = "key-a-3b8e1f0c9d2a7e6b5c4d"
KEY_B = "key-b-9f8e7d6c5b4a3f2e1d0c"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An upstream CLI config dir with two nodes, as `joule node add` writes it."""
    directory = tmp_path / "user_config"
    directory.mkdir()
    write_nodes(
        directory,
        [
            {"name": "first", "url": "http://127.0.0.1:18088", "key": KEY_A},
            {"name": "second", "url": "https://second.test:8088", "key": KEY_B},
        ],
    )
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(directory))
    monkeypatch.delenv("JOULE_URL", raising=False)
    monkeypatch.delenv("JOULE_KEY", raising=False)
    monkeypatch.delenv("JOULE_CA_FILE", raising=False)
    return directory


def write_nodes(directory: Path, nodes: Any, mode: int = 0o600) -> None:
    path = directory / "nodes.json"
    path.write_text(json.dumps(nodes, indent=2))
    path.chmod(mode)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every Node get_node makes (the nodes themselves are real)."""
    calls: list[dict[str, Any]] = []

    def record(url: str, key: str, **options: Any) -> Node:
        calls.append({"url": url, "key": key, **options})
        return Node(url, key, **options)

    monkeypatch.setattr(config_module, "Node", record)
    return calls


def test_the_default_node_is_named_in_default_node_txt(config_dir, made):
    (config_dir / "default_node.txt").write_text("second\n")
    with get_node() as node:
        assert (node.name, node.url) == ("second", "https://second.test:8088")
    assert made == [
        {"url": "https://second.test:8088", "key": KEY_B, "ca_file": None, "name": "second"}
    ]


@pytest.mark.parametrize("default", [None, "", "removed-node\n"])
def test_without_a_valid_default_the_first_node_is_used(config_dir, made, default):
    if default is not None:
        (config_dir / "default_node.txt").write_text(default)
    with get_node() as node:
        assert node.name == "first"
    assert made[0]["key"] == KEY_A
    # the files are only read: upstream's CLI owns them
    default_file = config_dir / "default_node.txt"
    if default is None:
        assert not default_file.exists()
    else:
        assert default_file.read_text() == default


def test_a_node_by_name(config_dir, made):
    with get_node("second") as node:
        assert node.url == "https://second.test:8088"
    assert made[0]["key"] == KEY_B


def test_an_unknown_name_lists_the_known_ones(config_dir):
    with pytest.raises(ConfigurationError, match=r"no node named 'third'.*first, second"):
        get_node("third")


def test_the_config_dir_defaults_to_dot_joule_in_home(tmp_path, monkeypatch, made):
    monkeypatch.delenv("JOULE_USER_CONFIG_DIR", raising=False)
    monkeypatch.delenv("JOULE_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".joule").mkdir()
    write_nodes(tmp_path / ".joule", [{"name": "home", "url": "http://h:1", "key": KEY_A}])
    with get_node() as node:
        assert node.name == "home"


def test_ca_crt_in_the_config_dir_is_the_nodes_ca(config_dir, made):
    shutil.copy(certifi.where(), config_dir / "ca.crt")  # any loadable CA bundle
    get_node("second").close()
    assert made[0]["ca_file"] == config_dir / "ca.crt"


def test_the_environment_names_a_node_for_jobs(config_dir, made, monkeypatch):
    monkeypatch.setenv("JOULE_URL", "http://job.test:8088")
    monkeypatch.setenv("JOULE_KEY", KEY_B)
    with get_node() as node:
        assert node.url == "http://job.test:8088"
    assert made == [{"url": "http://job.test:8088", "key": KEY_B, "ca_file": None}]
    with get_node("first") as named:  # a name asks for the saved node
        assert named.url == "http://127.0.0.1:18088"


def test_the_environment_can_give_a_ca_file(config_dir, made, monkeypatch):
    monkeypatch.setenv("JOULE_URL", "https://job.test:8088")
    monkeypatch.setenv("JOULE_KEY", KEY_B)
    monkeypatch.setenv("JOULE_CA_FILE", certifi.where())
    get_node().close()
    assert made[0]["ca_file"] == certifi.where()


def test_joule_url_without_joule_key_is_an_error(config_dir, monkeypatch):
    monkeypatch.setenv("JOULE_URL", "http://job.test:8088")
    with pytest.raises(ConfigurationError, match="JOULE_KEY is not"):
        get_node()


def test_no_nodes_json_says_how_to_add_one(tmp_path, monkeypatch):
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path / "missing"))
    monkeypatch.delenv("JOULE_URL", raising=False)
    with pytest.raises(ConfigurationError, match=r"joule node add.*JOULE_URL"):
        get_node()
    assert not (tmp_path / "missing").exists()  # nothing is created


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('[{"name": "a", "url": "http://a", "key": "' + KEY_A + '"', "not valid JSON .line 1"),
        ('{"name": "a"}', "must hold a list"),
        ("[]", "lists no nodes"),
        ('[{"name": "a", "url": "http://a"}]', "node 1 .* needs a non-empty name, url and key"),
        ('[{"name": "a", "url": "", "key": "' + KEY_A + '"}]', "node 1 .* needs"),
        ('["' + KEY_A + '"]', "node 1 .* needs"),
    ],
)
def test_a_broken_nodes_json_is_named_without_its_keys(config_dir, content, complaint):
    (config_dir / "nodes.json").write_text(content)
    with pytest.raises(ConfigurationError, match=complaint) as error:
        get_node()
    assert str(config_dir / "nodes.json") in str(error.value)
    assert KEY_A not in str(error.value)


def test_a_private_nodes_json_is_not_warned_about(config_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        get_node().close()
    assert caplog.records == []


def test_a_url_gets_only_the_key_configured_for_that_url(config_dir, made, monkeypatch):
    """``node_named_or_at`` (``joule-sync copy --to``): a name as ``get_node``, a URL with the
    key listed at that URL, or ``JOULE_KEY`` when ``JOULE_URL`` is it; never another key."""
    with config_module.node_named_or_at("second") as named:
        assert named.url == "https://second.test:8088"
    with config_module.node_named_or_at("https://second.test:8088/") as listed:
        assert listed.name == "second"
    monkeypatch.setenv("JOULE_URL", "http://job.test:8088")
    monkeypatch.setenv("JOULE_KEY", KEY_A)
    config_module.node_named_or_at("http://job.test:8088").close()
    assert [m["key"] for m in made] == [KEY_B, KEY_B, KEY_A]
    with pytest.raises(ConfigurationError, match=r"no API key for http://other\.test") as error:
        config_module.node_named_or_at("http://other.test")
    assert KEY_A not in str(error.value) and KEY_B not in str(error.value)
