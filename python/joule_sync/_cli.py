"""The ``joule-sync`` command: one argparse parser, one function per subcommand.

A subcommand registers itself in ``_build_parser`` with an ``_add_<name>_parser`` function that
sets ``handler`` (a function taking the parsed arguments and returning the exit status).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import _devnode

Handler = Callable[[argparse.Namespace], int]

# `dev-node status` exit status for a node that is not running (as LSB init scripts use)
EXIT_NOT_RUNNING = 3


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    # progress goes to stderr, so stdout stays machine-readable
    logging.basicConfig(level=logging.INFO, format="[joule-sync] %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per readiness probe
    handler: Handler = args.handler
    return handler(args)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="joule-sync",
        description="Blocking, fast client for Joule nodes: command-line tools.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_dev_node_parser(commands)
    return parser


def _add_dev_node_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev_node = commands.add_parser(
        "dev-node",
        help="run a local upstream Joule node for development and tests",
        description=(
            "Run upstream jouled (joule==1.0.1, installed into its own virtualenv, "
            f"default {_devnode.default_venv()}, override with JOULE_SYNC_JOULED_VENV) on "
            "127.0.0.1 with a random API key, backed by a private PostgreSQL cluster "
            "(installed from Debian when missing). It holds live streams /live/random "
            "(float32_3) and /live/base (int32_1, counting 0, 1, 2, ...), the locked stream "
            "/static/configured, the event stream /static/configured_events and the proxy "
            "refnode_self."
        ),
    )
    actions = dev_node.add_subparsers(dest="action", required=True, metavar="ACTION")
    state_dir = argparse.ArgumentParser(add_help=False)
    state_dir.add_argument(
        "--state-dir",
        type=Path,
        default=_devnode.default_state_dir(),
        help="where the node keeps its configs, database, logs and PIDs (default: %(default)s)",
    )

    start = actions.add_parser(
        "start",
        parents=[state_dir],
        help="start the node (or reuse the running one) and register it",
        description=(
            f"Start the node, or reuse it if it runs already, and register it as "
            f"'{_devnode.NODE_NAME}' in the upstream joule CLI's nodes.json "
            "($JOULE_USER_CONFIG_DIR, else ~/.joule), as the default node if there is none. "
            "The last two lines of stdout are URL=... and KEY=..., so that "
            'eval "$(joule-sync dev-node start)" sets $URL and $KEY.'
        ),
    )
    start.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the node to answer once started (default: %(default)s)",
    )
    start.set_defaults(handler=_dev_node_start)

    stop = actions.add_parser(
        "stop",
        parents=[state_dir],
        help="stop the node's processes",
        description="Stop jouled (and its modules) and PostgreSQL, by the PIDs recorded at start.",
    )
    stop.add_argument(
        "--purge", action="store_true", help="also delete the node's database (all its data)"
    )
    stop.add_argument(
        "--unregister",
        action="store_true",
        help=f"also remove '{_devnode.NODE_NAME}' from the joule CLI's nodes.json",
    )
    stop.set_defaults(handler=_dev_node_stop)

    status = actions.add_parser(
        "status",
        parents=[state_dir],
        help="tell whether the node runs",
        description=f"Print what runs. Exit status 0 if the node answers, else {EXIT_NOT_RUNNING}.",
    )
    status.set_defaults(handler=_dev_node_status)


def _dev_node_start(args: argparse.Namespace) -> int:
    try:
        node = _devnode.start(args.state_dir, timeout=args.timeout)
        nodes_json = _devnode.register(node)
    except _devnode.DevNodeError as err:
        print(f"joule-sync dev-node start: {err}", file=sys.stderr)
        return 1
    print(
        f"node {node.url} (state {node.state_dir}), registered as '{_devnode.NODE_NAME}' "
        f"in {nodes_json}",
        file=sys.stderr,
    )
    print(f"URL={node.url}")
    print(f"KEY={node.key}")
    return 0


def _dev_node_stop(args: argparse.Namespace) -> int:
    try:
        _devnode.stop(args.state_dir, purge=args.purge)
        if args.unregister:
            _devnode.unregister()
    except _devnode.DevNodeError as err:
        print(f"joule-sync dev-node stop: {err}", file=sys.stderr)
        return 1
    return 0


def _dev_node_status(args: argparse.Namespace) -> int:
    state = _devnode.status(args.state_dir)
    if state.node is not None:
        print(f"running: {state.node.url}")
    else:
        print("not running" if state.jouled_pid is None else "not answering")
    print(f"jouled pid: {state.jouled_pid or '-'}")
    print(f"postgres pid: {state.postgres_pid or '-'}")
    print(f"state dir: {state.state_dir}")
    return 0 if state.running else EXIT_NOT_RUNNING


if __name__ == "__main__":
    sys.exit(main())
