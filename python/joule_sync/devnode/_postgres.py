"""A private PostgreSQL cluster for one dev node, from Debian's PostgreSQL binaries.

The cluster lives in ``<state dir>/pg``: ``data/`` (PGDATA), ``postgres.log`` and the Unix
socket.  PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` OS user; when
that user cannot reach the state dir (it sits in root's private home or pytest's 0700 temp dir)
or the socket path would be too long, ``pg`` is a symlink to a directory under /var/tmp.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ._support import DevNodeError, RunAs, is_running, read_pid, run, stop_process, tail

_log = logging.getLogger(__name__)

# date_bin(), which the TimescaleDB shim's time_bucket uses, is new in PostgreSQL 14
_MIN_MAJOR = 14
_PREFERRED_MAJOR = 15
_DEBIAN_BIN_ROOT = Path("/usr/lib/postgresql")
_SYSTEM_USER = "joule-sync-pg"  # created when there is no "postgres" user (binaries not from apt)
_SHARED_TMP = Path("/var/tmp/joule-sync-pg")
_SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes, NUL included

DATABASE = "joule"
ROLE = "joule"

# A throwaway test node: durability traded for write speed.
_SERVER_SETTINGS = """
# --- joule-sync dev node ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
timezone = 'UTC'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
"""

# Role and database as upstream's postgresql-bootstrap.sql sets them up (minus the extension).
_BOOTSTRAP_SQL = """
SET client_min_messages = warning;
SELECT 'CREATE DATABASE {database}'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}') \\gexec
\\connect {database}
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role}; END IF;
END $$;
ALTER ROLE {role} WITH LOGIN PASSWORD '{password}' CREATEROLE REPLICATION;
GRANT ALL PRIVILEGES ON DATABASE {database} TO {role} WITH GRANT OPTION;
GRANT pg_read_all_settings TO {role};
GRANT CREATE ON SCHEMA public TO {role};
-- jouled's role owns the shim's functions, so its GRANT EXECUTE ON ALL FUNCTIONS covers them
SET ROLE {role};
"""


@dataclass(frozen=True)
class Cluster:
    """Where a dev node's cluster lives and how to run its programs."""

    directory: Path
    bin_dir: Path
    user: RunAs

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def psql(self, port: int, sql: str, what: str, database: str = DATABASE) -> None:
        """Run SQL (via stdin, so secrets stay off command lines) as the superuser."""
        run(
            [self.bin_dir / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.directory,
             "-p", str(port), "-U", "postgres", "-d", database, "-f", "-"],
            what,
            as_user=self.user,
            stdin_text=sql,
            cwd=self.directory,
        )  # fmt: skip


def cluster(state_dir: Path) -> Cluster:
    """The state dir's cluster (placed, not yet created, on first use); installs PostgreSQL."""
    user = _server_user()
    return Cluster(_placed_directory(state_dir, user), _bin_dir(), user)


def data_dir(state_dir: Path) -> Path:
    return (state_dir / "pg").resolve() / "data"


def running_pid(state_dir: Path) -> int | None:
    """The postmaster's PID if the state dir's server is up."""
    data = data_dir(state_dir)
    pid = read_pid(data / "postmaster.pid")
    return pid if pid is not None and is_running(pid, str(data)) else None


def running_port(state_dir: Path) -> int:
    # postmaster.pid lines: pid, data dir, start time, port, ...
    return int((data_dir(state_dir) / "postmaster.pid").read_text().splitlines()[3])


def dsn(port: int, password: str) -> str:
    return f"postgresql://{ROLE}:{password}@127.0.0.1:{port}/{DATABASE}"


def start(pg: Cluster, port: int, password: str) -> int:
    """Create the cluster if new, start it on PORT, set up jouled's role, db and shim; its PID."""
    if not (pg.data / "PG_VERSION").exists():
        _initdb(pg)
    _log.info("starting PostgreSQL on 127.0.0.1:%d", port)
    try:
        run(
            [pg.bin_dir / "pg_ctl", "-D", pg.data, "-l", pg.log, "-w", "-t", "60",
             "-o", f"-p {port}", "start"],
            "starting PostgreSQL",
            as_user=pg.user,
            cwd=pg.directory,
            new_session=True,  # a Ctrl-C in the terminal that started it must not stop it
        )  # fmt: skip
    except DevNodeError as err:
        raise DevNodeError(f"{err}\n{tail(pg.log)}") from err
    pid = read_pid(pg.data / "postmaster.pid")
    if pid is None or not is_running(pid, str(pg.data)):
        raise DevNodeError(f"PostgreSQL did not stay up\n{tail(pg.log)}")
    shim = resources.files(__package__).joinpath("timescale_shim.sql").read_text()
    setup = _BOOTSTRAP_SQL.format(database=DATABASE, role=ROLE, password=password) + shim
    pg.psql(port, setup, "setting up the joule database", database="postgres")
    return pid


def stop(pid: int) -> None:
    """Fast shutdown (SIGINT), escalating to immediate (SIGQUIT) and SIGKILL."""
    _log.info("stopping PostgreSQL (pid %d)", pid)
    stop_process(pid, [(signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)])


def purge(state_dir: Path) -> None:
    """Delete the cluster (all node data), wherever it was placed."""
    link = state_dir / "pg"
    if link.is_symlink():
        shutil.rmtree(link.resolve(), ignore_errors=True)
        link.unlink()
    else:
        shutil.rmtree(link, ignore_errors=True)


def _initdb(pg: Cluster) -> None:
    _log.info("creating the PostgreSQL cluster in %s", pg.data)
    run(
        [pg.bin_dir / "initdb", "-D", pg.data, "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
        "initdb",
        as_user=pg.user,
        cwd=pg.directory,
    )  # fmt: skip
    with (pg.data / "postgresql.conf").open("a") as conf:
        conf.write(_SERVER_SETTINGS.format(socket_dir=pg.directory))


def _placed_directory(state_dir: Path, user: RunAs) -> Path:
    """The cluster directory, owned by USER; decides (once) between state dir and /var/tmp."""
    link = state_dir / "pg"
    if link.is_symlink():
        directory = link.resolve()
    elif link.is_dir() or (_reachable(state_dir, user) and _socket_fits(link)):
        directory = link
    else:
        digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
        directory = _SHARED_TMP / digest
        _SHARED_TMP.mkdir(mode=0o711, parents=True, exist_ok=True)
        link.symlink_to(directory, target_is_directory=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chown(directory, user.uid, user.gid)
    return directory.resolve()


def _reachable(directory: Path, user: RunAs) -> bool:
    if user.is_self:
        return True
    probe = subprocess.run(
        ["test", "-x", str(directory)],
        user=user.uid,
        group=user.gid,
        extra_groups=[],
        check=False,
    )
    return probe.returncode == 0


def _socket_fits(directory: Path) -> bool:
    return len(str(directory / ".s.PGSQL.65535").encode()) <= _SOCKET_PATH_MAX


def _server_user() -> RunAs:
    if os.geteuid() != 0:
        return RunAs(os.geteuid(), os.getegid())
    for name in ("postgres", _SYSTEM_USER):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(entry.pw_uid, entry.pw_gid)
    _log.info("creating system user %s to run PostgreSQL", _SYSTEM_USER)
    run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _SYSTEM_USER],
        "creating the PostgreSQL OS user",
    )
    entry = pwd.getpwnam(_SYSTEM_USER)
    return RunAs(entry.pw_uid, entry.pw_gid)


def _bin_dir() -> Path:
    found = _installed_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise DevNodeError(
            f"PostgreSQL >= {_MIN_MAJOR} not found in {_DEBIAN_BIN_ROOT}: "
            f"install it (sudo apt-get install postgresql-{_PREFERRED_MAJOR}) and retry"
        )
    _log.info("PostgreSQL not found: installing postgresql-%d from Debian", _PREFERRED_MAJOR)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], "apt-get update", env=apt_env)
    run(
        ["apt-get", "install", "-y", "-qq", f"postgresql-{_PREFERRED_MAJOR}"],
        "apt-get install postgresql",
        env=apt_env,
    )
    found = _installed_bin_dir()
    if found is None:
        raise DevNodeError(f"postgresql-{_PREFERRED_MAJOR} installed but not in {_DEBIAN_BIN_ROOT}")
    return found


def _installed_bin_dir() -> Path | None:
    """The preferred major's bin dir, else the newest usable one."""
    majors = sorted(
        (int(d.name) for d in _DEBIAN_BIN_ROOT.glob("*") if d.name.isdigit()),
        key=lambda major: (major == _PREFERRED_MAJOR, major),
        reverse=True,
    )
    for major in majors:
        bin_dir = _DEBIAN_BIN_ROOT / str(major) / "bin"
        if major >= _MIN_MAJOR and (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            return bin_dir
    return None
