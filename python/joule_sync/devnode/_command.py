"""``joule-sync dev-node ACTION``: start, stop and look at the dev node from the command line.

The ``joule-sync`` command hands ``main()`` every argument after ``dev-node``, so that it loads
the dev node for this command only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._jouled import NODE_NAME, default_venv
from ._node import default_state_dir, start, status, stop
from ._registry import register, unregister
from ._support import DevNodeError

PROG = "joule-sync dev-node"
EXIT_ERROR = 1
# `status` exit status for a node that is not running (as LSB init scripts use)
EXIT_NOT_RUNNING = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``joule-sync dev-node`` with ARGV (default: ``sys.argv[1:]``); the exit status."""
    args = _build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except DevNodeError as err:
        print(f"{PROG} {args.action}: {err}", file=sys.stderr)
        return EXIT_ERROR


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Run upstream jouled (joule==1.0.1, installed into its own virtualenv, "
            f"default {default_venv()}, override with JOULE_SYNC_JOULED_VENV) on "
            "127.0.0.1 with a random API key, backed by a private PostgreSQL cluster "
            "(installed from Debian when missing). It holds live streams /live/random "
            "(float32_3) and /live/base (int32_1, counting 0, 1, 2, ...), the locked stream "
            "/static/configured, the event stream /static/configured_events and the proxy "
            "refnode_self."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    state_dir = argparse.ArgumentParser(add_help=False)
    state_dir.add_argument(
        "--state-dir",
        type=Path,
        default=default_state_dir(),
        help="where the node keeps its configs, database, logs and PIDs (default: %(default)s)",
    )

    start_parser = actions.add_parser(
        "start",
        parents=[state_dir],
        help="start the node (or reuse the running one) and register it",
        description=(
            f"Start the node, or reuse it if it runs already, and register it as "
            f"'{NODE_NAME}' in the upstream joule CLI's nodes.json "
            "($JOULE_USER_CONFIG_DIR, else ~/.joule), as the default node if there is none. "
            "The last two lines of stdout are URL=... and KEY=..., so that "
            'eval "$(joule-sync dev-node start)" sets $URL and $KEY.'
        ),
    )
    start_parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the node to answer once started (default: %(default)s)",
    )
    start_parser.set_defaults(handler=_start)

    stop_parser = actions.add_parser(
        "stop",
        parents=[state_dir],
        help="stop the node's processes",
        description="Stop jouled (and its modules) and PostgreSQL, by the PIDs recorded at start.",
    )
    stop_parser.add_argument(
        "--purge", action="store_true", help="also delete the node's database (all its data)"
    )
    stop_parser.add_argument(
        "--unregister",
        action="store_true",
        help=f"also remove '{NODE_NAME}' from the joule CLI's nodes.json",
    )
    stop_parser.set_defaults(handler=_stop)

    status_parser = actions.add_parser(
        "status",
        parents=[state_dir],
        help="tell whether the node runs",
        description=f"Print what runs. Exit status 0 if the node answers, else {EXIT_NOT_RUNNING}.",
    )
    status_parser.set_defaults(handler=_status)
    return parser


def _start(args: argparse.Namespace) -> int:
    node = start(args.state_dir, timeout=args.timeout)
    nodes_json = register(node)
    print(
        f"node {node.url} (state {node.state_dir}), registered as '{NODE_NAME}' in {nodes_json}",
        file=sys.stderr,
    )
    print(f"URL={node.url}")
    print(f"KEY={node.key}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    stop(args.state_dir, purge=args.purge)
    if args.unregister:
        unregister()
    return 0


def _status(args: argparse.Namespace) -> int:
    state = status(args.state_dir)
    if state.node is not None:
        print(f"running: {state.node.url}")
    else:
        print("not running" if state.jouled_pid is None else "not answering")
    print(f"jouled pid: {state.jouled_pid or '-'}")
    print(f"postgres pid: {state.postgres_pid or '-'}")
    print(f"state dir: {state.state_dir}")
    return 0 if state.running else EXIT_NOT_RUNNING
