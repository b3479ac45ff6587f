"""Starting, inspecting and stopping a dev node: one jouled and its PostgreSQL, in a state dir.

State dir layout::

    etc/        jouled configs, api_key, db_password (secrets: mode 0600)
    pg/         the PostgreSQL cluster (or a symlink to it, see _postgres)
    pids/       jouled.pid, postgres.pid: what stop() stops
    log/        jouled.log (and the previous run's jouled.log.prev)
    run/, var/  jouled's sockets and importer/exporter data
    node.json   url and ports of the running node
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from . import _jouled, _postgres
from ._support import is_running, locked, read_pid, write_private

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DevNode:
    """A running dev node.  Its repr shows neither the API key nor the database password."""

    url: str  # http://127.0.0.1:PORT, no trailing slash
    key: str = field(repr=False)  # API key: send as header X-API-KEY
    state_dir: Path
    venv: Path  # jouled's virtualenv; bin/ also holds the upstream `joule` CLI
    pg_port: int
    dsn: str = field(repr=False)  # postgresql://joule:PASSWORD@127.0.0.1:PG_PORT/joule
    jouled_pid: int
    postgres_pid: int

    def stop(self, *, purge: bool = False) -> None:
        stop(self.state_dir, purge=purge)


@dataclass(frozen=True)
class DevNodeStatus:
    """What runs in a state dir; ``node`` is set when jouled answers with the node's key."""

    state_dir: Path
    postgres_pid: int | None
    jouled_pid: int | None
    node: DevNode | None

    @property
    def running(self) -> bool:
        return self.node is not None


def default_state_dir() -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "joule-sync" / "dev-node"


def start(
    state_dir: Path | str | None = None,
    *,
    venv: Path | None = None,
    timeout: float = 60.0,
    modules: bool = True,
) -> DevNode:
    """Start a dev node in STATE_DIR, or return it if it already runs there.

    Installs what is missing first (upstream joule into VENV, default ``default_venv()``;
    PostgreSQL from Debian).  Returns once jouled answers with the key and both live streams
    are produced; TIMEOUT bounds that wait.  ``modules=False`` starts no module: the live
    streams stay idle, and the node uses less CPU and starts sooner (a second node for tests).
    On failure, stops what runs in the state dir and raises DevNodeError with the log tail that
    says why.
    """
    state_dir = _resolve(state_dir)
    venv = (venv or _jouled.default_venv()).expanduser().absolute()
    # 0711: PostgreSQL's OS user must pass through to the cluster in pg/
    state_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
    with locked(state_dir / "lock"):
        node = _status(state_dir).node
        if node is not None:
            _log.info("dev node already running at %s", node.url)
            return node
        try:
            return _start(state_dir, venv, timeout, modules)
        except BaseException:
            _stop(state_dir, purge=False)
            raise


def stop(state_dir: Path | str | None = None, *, purge: bool = False) -> None:
    """Stop the processes started in STATE_DIR, by their recorded PIDs, and wait until gone.

    PURGE also deletes the PostgreSQL cluster (all data of the node).
    """
    state_dir = _resolve(state_dir)
    if not state_dir.is_dir():
        return
    with locked(state_dir / "lock"):
        _stop(state_dir, purge=purge)


def status(state_dir: Path | str | None = None) -> DevNodeStatus:
    return _status(_resolve(state_dir))


def _start(state_dir: Path, venv: Path, timeout: float, modules: bool) -> DevNode:
    _jouled.ensure_venv(venv)
    pg = _postgres.cluster(state_dir)
    etc = state_dir / "etc"
    etc.mkdir(mode=0o700, exist_ok=True)
    key = _secret(etc / "api_key")
    db_password = _secret(etc / "db_password")
    previous = _saved(state_dir)

    # a jouled that runs but does not answer, or outlived its PostgreSQL, starts afresh
    jouled_pid = _running_jouled(state_dir)
    if jouled_pid is not None:
        _jouled.stop(jouled_pid)
    pg_pid = _postgres.running_pid(state_dir)
    if pg_pid is None:
        pg_port, port = _free_ports(previous.pg_port, previous.port)
        pg_pid = _postgres.start(pg, pg_port, db_password)
    else:
        pg_port = _postgres.running_port(state_dir)
        (port,) = _free_ports(previous.port)
    _write_pid(state_dir, "postgres", pg_pid)
    dsn = _postgres.dsn(pg_port, db_password)

    main_conf = _jouled.configure(state_dir, venv, port, dsn, key, modules=modules)
    jouled_pid = _jouled.spawn(state_dir, venv, main_conf)
    _write_pid(state_dir, "jouled", jouled_pid)
    _write_json(state_dir / "node.json", {"port": port, "pg_port": pg_port, "venv": str(venv)})
    node = DevNode(_jouled.url(port), key, state_dir, venv, pg_port, dsn, jouled_pid, pg_pid)

    _jouled.wait_ready(
        node.url,
        key,
        lambda: is_running(jouled_pid, str(main_conf)),
        [_jouled.log_file(state_dir), pg.log],
        timeout,
        _jouled.LIVE_STREAMS if modules else (),
    )
    pg.psql(pg_port, _jouled.EVENT_TABLES_SQL, "creating the configured event streams' tables")
    _log.info("dev node ready at %s (jouled pid %d, postgres pid %d)", node.url, jouled_pid, pg_pid)
    return node


def _stop(state_dir: Path, *, purge: bool) -> None:
    jouled_pid = _running_jouled(state_dir)
    if jouled_pid is not None:
        _jouled.stop(jouled_pid)
    (state_dir / "pids" / "jouled.pid").unlink(missing_ok=True)
    pg_pid = _postgres.running_pid(state_dir)
    if pg_pid is not None:
        _postgres.stop(pg_pid)
    (state_dir / "pids" / "postgres.pid").unlink(missing_ok=True)
    if purge:
        _log.info("deleting the PostgreSQL cluster of %s", state_dir)
        _postgres.purge(state_dir)


def _status(state_dir: Path) -> DevNodeStatus:
    jouled_pid = _running_jouled(state_dir)
    pg_pid = _postgres.running_pid(state_dir)
    node = None
    if jouled_pid is not None and pg_pid is not None:
        saved = _saved(state_dir)
        key = _read_text(state_dir / "etc" / "api_key")
        pg_port = _postgres.running_port(state_dir)
        if (
            saved.port is not None
            and saved.venv is not None
            and saved.pg_port == pg_port
            and _jouled.answers(_jouled.url(saved.port), key)
        ):
            db_password = _read_text(state_dir / "etc" / "db_password")
            dsn = _postgres.dsn(pg_port, db_password)
            node_url = _jouled.url(saved.port)
            node = DevNode(node_url, key, state_dir, saved.venv, pg_port, dsn, jouled_pid, pg_pid)
    return DevNodeStatus(state_dir, pg_pid, jouled_pid, node)


@dataclass(frozen=True)
class _Saved:
    """node.json: what the last start chose."""

    port: int | None = None
    pg_port: int | None = None
    venv: Path | None = None


def _saved(state_dir: Path) -> _Saved:
    try:
        loaded = json.loads((state_dir / "node.json").read_text())
    except (OSError, ValueError):
        return _Saved()
    if not isinstance(loaded, dict):
        return _Saved()
    port, pg_port, venv = loaded.get("port"), loaded.get("pg_port"), loaded.get("venv")
    return _Saved(
        port if isinstance(port, int) else None,
        pg_port if isinstance(pg_port, int) else None,
        Path(venv) if isinstance(venv, str) else None,
    )


def _running_jouled(state_dir: Path) -> int | None:
    pid = read_pid(state_dir / "pids" / "jouled.pid")
    main_conf = state_dir / "etc" / "main.conf"
    return pid if pid is not None and is_running(pid, str(main_conf)) else None


def _resolve(state_dir: Path | str | None) -> Path:
    return Path(state_dir or default_state_dir()).expanduser().resolve()


def _free_ports(*preferred: int | None) -> list[int]:
    """One free loopback port per argument, the preferred one when it is free (a stable URL).

    All are held open until all are chosen, so they differ.
    """
    held = []
    try:
        for wish in preferred:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            # like the servers will: a port whose old connections linger in TIME_WAIT is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", wish or 0))
            except OSError:
                sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def _secret(path: Path) -> str:
    """A random secret kept in PATH (created once, mode 0600), so restarts keep it."""
    existing = _read_text(path)
    if existing:
        return existing
    value = secrets.token_hex(16)
    write_private(path, value + "\n")
    return value


def _write_pid(state_dir: Path, name: str, pid: int) -> None:
    pids = state_dir / "pids"
    pids.mkdir(exist_ok=True)
    (pids / f"{name}.pid").write_text(f"{pid}\n")


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _write_json(path: Path, content: dict[str, object]) -> None:
    path.write_text(json.dumps(content, indent=2) + "\n")
