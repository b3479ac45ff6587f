"""A real upstream Joule node on loopback, for the tests, the benchmarks, the demo and people.

``start()`` runs upstream ``jouled`` (PyPI ``joule==1.0.1``, in its own cached virtualenv) on
127.0.0.1 with a random API key, backed by a private PostgreSQL cluster (Debian's PostgreSQL
plus ``timescale_shim.sql`` in place of TimescaleDB), all kept in one state dir::

    node = start(tmp_dir)          # DevNode: url, key, state_dir, venv, pg_port, dsn, PIDs
    ...                            # send X-API-KEY: node.key to node.url
    stop(tmp_dir)                  # stops exactly the processes it started, by PID

The public names (a ``state_dir`` of None is ``default_state_dir()``):

* ``start(state_dir=None, *, venv=None, timeout=60.0, modules=True) -> DevNode``: start a
  node, or return the one running in the state dir; ``modules=False`` runs none of its modules;
* ``stop(state_dir=None, *, purge=False)``: stop its processes; ``purge`` deletes its data;
* ``status(state_dir=None) -> DevNodeStatus``: the PIDs that run, and the node if it answers;
* ``register(node, name=NODE_NAME)``, ``unregister(name=NODE_NAME)``: add the node to, or
  remove it from, the node list of upstream's ``joule`` CLI, where ``joule_sync.get_node()``
  finds it (``joule-sync dev-node start`` does; tests must not);
* ``default_state_dir()``, ``default_venv()``: where nodes and the jouled virtualenv go;
* ``NODE_NAME``, the name it registers under; ``LIVE_STREAMS``, the streams its modules write
  (all it holds is listed in ``_jouled``);
* ``DevNodeError``: raised when a node cannot be set up, started or stopped, with the log tails
  that say why;
* ``main(argv)``: the ``joule-sync dev-node`` command line.

``joule_sync.devnode.demo.run(out_dir, node_name)`` is ``joule-sync demo``, the main job; it is
not imported here, and it loads matplotlib only to plot.

Environment: ``JOULE_SYNC_JOULED_VENV`` (the jouled virtualenv, default
``~/.cache/joule-sync/jouled-venv``), ``JOULE_USER_CONFIG_DIR`` (the node registry).
The client (``joule_sync``) never imports this package, nor does anything import ``joule``:
the node's programs run in their own virtualenv.  Linux only.
"""

from __future__ import annotations

from ._command import main
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
    "main",
    "register",
    "start",
    "status",
    "stop",
    "unregister",
]
