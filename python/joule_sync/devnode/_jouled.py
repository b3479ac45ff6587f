"""Upstream jouled for a dev node: its virtualenv, its configuration, starting and stopping it.

The node holds, besides what tests create:

==========================  ==========================================================
/live/random                float32_3, produced live by ``joule-random-reader`` at 10 Hz
/live/base                  int32_1, produced live by ``counting_module.py``: row k holds k,
                            20 rows/s, timestamps exactly 50 ms apart (restarts at 0 with jouled)
/static/configured          int32_2 (a [V], b [A]), configured in a file: locked
/static/configured_events   event stream (field ``label: string``), configured in a file
proxy ``refnode_self``      the node's own ``/version``
==========================  ==========================================================
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import httpx

from ._support import (
    DevNodeError,
    locked,
    run,
    stop_group,
    stop_process,
    tail,
    write_private,
)

_log = logging.getLogger(__name__)

# SQLAlchemy 2.1 makes postgresql:// URLs use psycopg 3, which joule 1.0.1 does not depend on
# (jouled dies with "No module named 'psycopg'"): hold it at 2.0.x.
REQUIREMENTS = ("joule==1.0.1", "sqlalchemy>=2.0,<2.1")
_VENV_STAMP = "joule-sync-requirements.txt"

NODE_NAME = "joule-sync-dev"
LIVE_STREAMS = ("/live/random", "/live/base")
_USER_NAME = "joule-sync"

_MAIN_CONF = """\
[Main]
Name = {name}
ModuleDirectory = {etc}/module_configs
DataStreamDirectory = {etc}/data_stream_configs
EventStreamDirectory = {etc}/event_stream_configs
ImporterConfigsDirectory = {etc}/importer_configs
ExporterConfigsDirectory = {etc}/exporter_configs
ImporterDataDirectory = {var}/importer_data
ExporterDataDirectory = {var}/exporter_data
ImporterKey = importer-{key}
UsersFile = {etc}/users.conf
IPAddress = 127.0.0.1
Port = {port}
SocketDirectory = {run}
Database = {database}
InsertPeriod = 1
CleanupPeriod = 60
MaxLogLines = 100

[Proxies]
# only listed (GET /proxies.json): nothing needs to answer there
refnode_self = {url}/version
"""

# name -> file contents; {venv} and {etc} are filled in
_MODULE_CONFIGS = {
    "random.conf": """\
[Main]
name = random
exec_cmd = {venv}/bin/joule-random-reader
description = upstream random reader: 3 elements at 10 Hz

[Arguments]
width = 3
rate = 10

[Outputs]
output = /live/random
""",
    "counting.conf": """\
[Main]
name = counting
exec_cmd = {venv}/bin/python {etc}/counting_module.py
description = counts 0, 1, 2, ... at 20 Hz

[Arguments]
rate = 20

[Outputs]
output = /live/base
""",
}

_DATA_STREAM_CONFIGS = {
    "random.conf": """\
[Main]
name = random
path = /live
datatype = float32
keep = 1d
decimate = yes

[Element1]
name = x
[Element2]
name = y
[Element3]
name = z
""",
    "base.conf": """\
[Main]
name = base
path = /live
datatype = int32
keep = 1d
decimate = yes
description = counting stream: row k holds k

[Element1]
name = count
""",
    "static.conf": """\
[Main]
name = configured
path = /static
datatype = int32
keep = all
decimate = yes
description = statically configured stream

[Element1]
name = a
units = V
[Element2]
name = b
units = A
""",
}

_EVENT_STREAM_CONFIGS = {
    "static.conf": """\
[Main]
name = configured_events
path = /static
keep = all
description = statically configured event stream

[Field1]
name = label
type = string
""",
}

# Upstream bug (joule 1.0.1, with real TimescaleDB too): event streams from EventStreamDirectory
# get no table, so reading or writing them answers 500 ("relation data.eventN does not exist").
# Create the missing ones with the DDL of joule.models.data_store.psql_helpers.create_event_table.
EVENT_TABLES_SQL = """
SET client_min_messages = warning;
SET ROLE joule;
DO $$
DECLARE s record;
BEGIN
  FOR s IN SELECT id, chunk_duration_us FROM metadata.eventstream
            WHERE to_regclass(format('data.event%s', id)) IS NULL LOOP
    EXECUTE format('CREATE TABLE data.event%s (id SERIAL, start_time TIMESTAMP NOT NULL, '
                   'end_time TIMESTAMP NOT NULL, content JSONB)', s.id);
    IF s.chunk_duration_us > 0 THEN
      PERFORM create_hypertable(format('data.event%s', s.id)::regclass, 'start_time');
      PERFORM set_chunk_time_interval(format('data.event%s', s.id)::regclass,
                                      s.chunk_duration_us);
    END IF;
    EXECUTE format('CREATE INDEX ON data.event%s (start_time, end_time)', s.id);
    EXECUTE format('GRANT SELECT ON data.event%s TO joule_module', s.id);
  END LOOP;
END $$;
"""


def default_venv() -> Path:
    configured = os.environ.get("JOULE_SYNC_JOULED_VENV")
    if configured:
        return Path(configured).expanduser().absolute()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "joule-sync" / "jouled-venv"


def ensure_venv(venv: Path) -> None:
    """Install the pinned upstream joule into VENV unless it already holds exactly that."""
    stamp = venv / _VENV_STAMP
    wanted = "\n".join(REQUIREMENTS) + "\n"
    with locked(venv.with_name(venv.name + ".lock")):
        if (venv / "bin" / "jouled").exists() and _read(stamp) == wanted:
            return
        _log.info(
            "installing %s into %s (once; takes about a minute)", " ".join(REQUIREMENTS), venv
        )
        run([sys.executable, "-m", "venv", "--clear", venv], "creating the jouled virtualenv")
        run(
            [venv / "bin" / "python", "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", *REQUIREMENTS],
            "installing joule into its virtualenv",
        )  # fmt: skip
        stamp.write_text(wanted)


def configure(
    state_dir: Path, venv: Path, port: int, database: str, key: str, *, modules: bool = True
) -> Path:
    """Write every jouled config file (ports may change between starts); the main.conf path.

    Without ``modules`` no module runs (the live streams exist but stay idle): a lean node.
    """
    etc, var, run_dir = state_dir / "etc", state_dir / "var", state_dir / "run"
    config_dirs = ("module_configs", "data_stream_configs", "event_stream_configs",
                   "importer_configs", "exporter_configs")  # fmt: skip
    for directory in [*(etc / name for name in config_dirs), var / "importer_data",
                      var / "exporter_data", run_dir]:  # fmt: skip
        directory.mkdir(parents=True, exist_ok=True)

    counting = resources.files(__package__).joinpath("counting_module.py").read_text()
    (etc / "counting_module.py").write_text(counting)
    fill = {"venv": shlex.quote(str(venv)), "etc": shlex.quote(str(etc))}
    for name, text in _MODULE_CONFIGS.items():
        module_config = etc / "module_configs" / name
        if modules:
            module_config.write_text(text.format(**fill))
        else:  # also when this state dir was started with modules before
            module_config.unlink(missing_ok=True)
    for name, text in _DATA_STREAM_CONFIGS.items():
        (etc / "data_stream_configs" / name).write_text(text)
    for name, text in _EVENT_STREAM_CONFIGS.items():
        (etc / "event_stream_configs" / name).write_text(text)

    main_conf = etc / "main.conf"
    write_private(
        main_conf,
        _MAIN_CONF.format(
            name=NODE_NAME, etc=etc, var=var, run=run_dir, key=key, port=port,
            url=url(port), database=database.removeprefix("postgresql://"),
        ),
    )  # fmt: skip
    # "name, key" per line; jouled re-reads it every 2 s
    write_private(etc / "users.conf", f"{_USER_NAME}, {key}\n")
    return main_conf


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def log_file(state_dir: Path) -> Path:
    return state_dir / "log" / "jouled.log"


def spawn(state_dir: Path, venv: Path, main_conf: Path) -> int:
    """Start jouled in its own session (its PID is the PGID of its modules); its PID."""
    log = log_file(state_dir)
    log.parent.mkdir(exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".prev"))
    # jouled refuses to start while a pid file from an earlier run exists
    (state_dir / "run" / "pid").unlink(missing_ok=True)
    jouled = venv / "bin" / "jouled"
    _log.info("starting jouled")
    return os.posix_spawn(
        jouled,
        [str(jouled), "--config", str(main_conf)],
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


def answers(node_url: str, key: str) -> bool:
    """True when jouled answers an authorized request (it loads the users file ~2 s after start)."""
    try:
        response = httpx.get(f"{node_url}/version.json", headers={"X-API-KEY": key}, timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def wait_ready(
    node_url: str,
    key: str,
    is_alive: Callable[[], bool],
    logs: Sequence[Path],
    timeout: float,
    live_streams: Sequence[str] = LIVE_STREAMS,
) -> None:
    """Wait until jouled answers and its modules produce ``live_streams``.

    Failures carry the tails of LOGS (jouled's, and PostgreSQL's since jouled often fails on it).
    """
    deadline = time.monotonic() + timeout
    pending = ["/version.json", *live_streams]
    while pending:
        if not is_alive():
            raise DevNodeError(_with_tails("jouled exited during startup", logs))
        if time.monotonic() > deadline:
            waiting = f"jouled not ready after {timeout:.0f} s (waiting for {pending[0]})"
            raise DevNodeError(_with_tails(waiting, logs))
        if _is_ready(node_url, key, pending[0]):
            pending.pop(0)
        else:
            time.sleep(0.25)


def stop(pid: int) -> None:
    """SIGTERM jouled (it stops its modules), then end whatever is left of its process group."""
    _log.info("stopping jouled (pid %d)", pid)
    with contextlib.suppress(DevNodeError):  # hung: the group's SIGKILL below ends it
        stop_process(pid, [(signal.SIGTERM, 30.0)])
    stop_group(pid, 5.0)


def _is_ready(node_url: str, key: str, what: str) -> bool:
    if what == "/version.json":
        return answers(node_url, key)
    try:
        response = httpx.get(
            f"{node_url}/stream.json", params={"path": what, "no-info": ""},
            headers={"X-API-KEY": key}, timeout=2.0,
        )  # fmt: skip
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("active"))


def _with_tails(message: str, logs: Sequence[Path]) -> str:
    return "\n".join([message, *(tail(log) for log in logs)])


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
