"""The node registry of upstream's `joule` CLI and ``joule.api.get_node()``.

``$JOULE_USER_CONFIG_DIR`` (else ``~/.joule``) holds ``nodes.json``, a list of
``{"name", "url", "key"}``, and ``default_node.txt``, the default node's name.  Both hold or
point at API keys: files mode 0600 in a directory created 0700.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ._jouled import NODE_NAME
from ._node import DevNode
from ._support import DevNodeError, write_private

_NODES = "nodes.json"
_DEFAULT = "default_node.txt"


def user_config_dir() -> Path:
    configured = os.environ.get("JOULE_USER_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".joule"


def register(node: DevNode, name: str = NODE_NAME) -> Path:
    """Add or replace the entry NAME; make it the default only if there is no valid default.

    Returns the nodes.json path.
    """
    config_dir = user_config_dir()
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    nodes = [entry for entry in _nodes(config_dir) if entry.get("name") != name]
    nodes.append({"name": name, "url": node.url, "key": node.key})
    write_private(config_dir / _NODES, json.dumps(nodes, indent=2) + "\n")
    if _default(config_dir) not in {entry.get("name") for entry in nodes}:
        write_private(config_dir / _DEFAULT, name + "\n")
    return config_dir / _NODES


def unregister(name: str = NODE_NAME) -> bool:
    """Remove the entry NAME (if it was the default, the first remaining node becomes it).

    Returns whether there was such an entry.
    """
    config_dir = user_config_dir()
    nodes = _nodes(config_dir)
    remaining = [entry for entry in nodes if entry.get("name") != name]
    if len(remaining) == len(nodes):
        return False
    write_private(config_dir / _NODES, json.dumps(remaining, indent=2) + "\n")
    if _default(config_dir) == name:
        successor = str(remaining[0].get("name", "")) if remaining else ""
        write_private(config_dir / _DEFAULT, successor + "\n" if successor else "")
    return True


def _nodes(config_dir: Path) -> list[dict[str, object]]:
    path = config_dir / _NODES
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise DevNodeError(f"cannot read {path} ({err}): fix or remove it") from err
    if not isinstance(loaded, list) or not all(isinstance(entry, dict) for entry in loaded):
        raise DevNodeError(f"{path} is not a list of nodes: fix or remove it")
    return loaded


def _default(config_dir: Path) -> str:
    try:
        lines = (config_dir / _DEFAULT).read_text().splitlines()
    except OSError:
        return ""
    return lines[0].strip() if lines else ""
