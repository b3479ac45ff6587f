"""``get_node``: the nodes the upstream ``joule`` CLI saved, or one named by the environment.

The upstream CLI (``joule node add NAME URL KEY``) keeps its nodes in a directory:
``$JOULE_USER_CONFIG_DIR`` if set, else ``~/.joule``.  There

* ``nodes.json`` lists them: ``[{"name": ..., "url": ..., "key": ...}, ...]``;
* ``default_node.txt`` holds the default node's name (missing, empty or stale: the first
  node is the default, as upstream picks it);
* ``ca.crt``, if present, is the CA that signed the nodes' https certificates.

For jobs and containers, where no such directory exists, the environment can name the node
instead: ``JOULE_URL`` and ``JOULE_KEY`` (and ``JOULE_CA_FILE`` for https with a private CA).
They are used when ``get_node()`` is called without a name.

The files are only read, never written.  ``nodes.json`` holds API keys: when other users can
read it, a warning says so, as ssh does for private keys.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from pathlib import Path

from ._errors import ConfigurationError
from ._node import Node

log = logging.getLogger("joule_sync")

NODES_FILE = "nodes.json"
DEFAULT_NODE_FILE = "default_node.txt"
CA_FILE = "ca.crt"


def config_dir() -> Path:
    """Where the upstream CLI keeps its node list; the dev node registers itself here too."""
    configured = os.environ.get("JOULE_USER_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".joule"


def get_node(name: str | None = None) -> Node:
    """The node called ``name`` in the CLI's node list, or the default node.

    Without a name, ``JOULE_URL``/``JOULE_KEY`` in the environment take precedence over the
    files.  Raises ``ConfigurationError`` saying what is missing or wrong.
    """
    if name is None and os.environ.get("JOULE_URL"):
        return _node_from_environment()
    directory = config_dir()
    nodes = _read_nodes(directory / NODES_FILE)
    if name is None:
        name = _default_name(directory / DEFAULT_NODE_FILE, nodes)
    if name not in nodes:
        raise ConfigurationError(
            f"no node named {name!r} in {directory / NODES_FILE} "
            f"(known: {', '.join(sorted(nodes))}); add it with `joule node add`"
        )
    return _listed_node(directory, name, *nodes[name])


def node_named_or_at(target: str) -> Node:
    """The node called ``target`` in the CLI's node list, or, for a URL, the node there.

    A URL gets the key the configuration holds for that URL: ``JOULE_KEY`` when ``JOULE_URL``
    is that URL, else the key of a node listed at that URL.  No other key is ever sent to it.
    """
    if not re.match(r"https?://", target):
        return get_node(target)
    url = target.rstrip("/")
    if os.environ.get("JOULE_URL", "").rstrip("/") == url:
        return _node_from_environment()
    directory = config_dir()
    nodes = _read_nodes(directory / NODES_FILE)
    for name, (listed_url, key) in nodes.items():
        if listed_url.rstrip("/") == url:
            return _listed_node(directory, name, listed_url, key)
    raise ConfigurationError(
        f"no API key for {url}: {directory / NODES_FILE} lists no node at that URL and "
        f"JOULE_URL is not it; add it with `joule node add NAME {url} KEY`"
    )


def _listed_node(directory: Path, name: str, url: str, key: str) -> Node:
    ca_file = directory / CA_FILE
    return Node(url, key, ca_file=ca_file if ca_file.is_file() else None, name=name)


def _node_from_environment() -> Node:
    key = os.environ.get("JOULE_KEY")
    if not key:
        raise ConfigurationError("JOULE_URL is set but JOULE_KEY is not: set both, or neither")
    ca_file = os.environ.get("JOULE_CA_FILE") or None
    return Node(os.environ["JOULE_URL"], key, ca_file=ca_file)


def _read_nodes(path: Path) -> dict[str, tuple[str, str]]:
    """``{name: (url, key)}`` from nodes.json, in file order."""
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigurationError(
            f"no Joule nodes configured: {path} does not exist; add a node with "
            "`joule node add NAME URL KEY`, or set JOULE_URL and JOULE_KEY"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text") from None
    if stat.S_IMODE(mode) & 0o077:
        log.warning(
            "%s holds API keys but other users can access it (mode %o): chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        # the error's position, not its excerpt: the excerpt could show a key
        raise ConfigurationError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path} must hold a list of nodes")
    nodes: dict[str, tuple[str, str]] = {}
    for position, entry in enumerate(entries, 1):
        fields = [entry.get(f) if isinstance(entry, dict) else None for f in ("name", "url", "key")]
        name, url, key = (f if isinstance(f, str) else "" for f in fields)
        if not (name and url and key):
            raise ConfigurationError(
                f"node {position} in {path} needs a non-empty name, url and key"
            )
        nodes[name] = (url, key)
    if not nodes:
        raise ConfigurationError(f"{path} lists no nodes; add one with `joule node add`")
    return nodes


def _default_name(path: Path, nodes: dict[str, tuple[str, str]]) -> str:
    """The name in default_node.txt if it names a known node, else the first node's."""
    try:
        name = path.read_text().strip()
    except FileNotFoundError:
        name = ""
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    return name if name in nodes else next(iter(nodes))
