"""The node registry of upstream's `joule` CLI and ``joule.api.get_node()``: written here.

The directory is the one ``get_node()`` reads (``joule_sync._config.config_dir()``); it holds
``nodes.json``, a list of ``{"name", "url", "key"}``, and ``default_node.txt``, the default
node's name.  Both hold or point at API keys: files mode 0600 in a directory created 0700.
"""

from __future__ import annotations

import json
from pathlib import Path

from joule_sync._config import DEFAULT_NODE_FILE, NODES_FILE, config_dir

from ._jouled import NODE_NAME
from ._node import DevNode
from ._support import DevNodeError, write_private


def register(node: DevNode, name: str = NODE_NAME) -> Path:
    """Add or replace the entry NAME; make it the default only if there is no valid default.

    Returns the nodes.json path.
    """
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    nodes = [entry for entry in _nodes(directory) if entry.get("name") != name]
    nodes.append({"name": name, "url": node.url, "key": node.key})
    write_private(directory / NODES_FILE, json.dumps(nodes, indent=2) + "\n")
    if _default(directory) not in {entry.get("name") for entry in nodes}:
        write_private(directory / DEFAULT_NODE_FILE, name + "\n")
    return directory / NODES_FILE


def unregister(name: str = NODE_NAME) -> bool:
    """Remove the entry NAME (if it was the default, the first remaining node becomes it).

    Returns whether there was such an entry.
    """
    directory = config_dir()
    nodes = _nodes(directory)
    remaining = [entry for entry in nodes if entry.get("name") != name]
    if len(remaining) == len(nodes):
        return False
    write_private(directory / NODES_FILE, json.dumps(remaining, indent=2) + "\n")
    if _default(directory) == name:
        successor = str(remaining[0].get("name", "")) if remaining else ""
        write_private(directory / DEFAULT_NODE_FILE, successor + "\n" if successor else "")
    return True


def _nodes(directory: Path) -> list[dict[str, object]]:
    path = directory / NODES_FILE
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise DevNodeError(f"cannot read {path} ({err}): fix or remove it") from err
    if not isinstance(loaded, list) or not all(isinstance(entry, dict) for entry in loaded):
        raise DevNodeError(f"{path} is not a list of nodes: fix or remove it")
    return loaded


def _default(directory: Path) -> str:
    try:
        lines = (directory / DEFAULT_NODE_FILE).read_text().splitlines()
    except OSError:
        return ""
    return lines[0].strip() if lines else ""
