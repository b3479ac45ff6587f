"""A real upstream Joule node on loopback, for the tests, the benchmarks and people.

``start()`` runs upstream ``jouled`` (PyPI ``joule==1.0.1``, in its own cached virtualenv) on
127.0.0.1 with a random API key, backed by a private PostgreSQL cluster (Debian's PostgreSQL
plus ``timescale_shim.sql`` in place of TimescaleDB), all kept in one state dir::

    node = start(tmp_dir)          # DevNode: url, key, state_dir, venv, pg_port, dsn, PIDs
    ...                            # send X-API-KEY: node.key to node.url
    stop(tmp_dir)                  # stops exactly the processes it started, by PID

What the node holds is listed in ``_jouled``.  ``register()`` puts a node where upstream's
``joule`` CLI and ``get_node()`` look (``joule-sync dev-node start`` does; tests must not).
Environment: ``JOULE_SYNC_JOULED_VENV`` (the jouled virtualenv, default
``~/.cache/joule-sync/jouled-venv``), ``JOULE_USER_CONFIG_DIR`` (the node registry).
joule_sync itself never imports ``joule``: it only runs its programs.  Linux only.
"""

from __future__ import annotations

from ._jouled import LIVE_STREAMS, NODE_NAME, default_venv
from ._node import DevNode, DevNodeStatus, default_state_dir, start, status, stop
from ._registry import register, unregister
from ._support import DevNodeError

__all__ = [
    "LIVE_STREAMS",
    "NODE_NAME",
    "DevNode",
    "DevNodeError",
    "DevNodeStatus",
    "default_state_dir",
    "default_venv",
    "register",
    "start",
    "status",
    "stop",
    "unregister",
]
