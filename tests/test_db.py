"""The ``db`` extra on the harness's PostgreSQL, under SQLAlchemy 2.0 and 2.1.

Two routes, each with real queries: upstream's recipe ``create_engine(info.to_dsn())``, whose
``postgresql://`` means psycopg2 to SQLAlchemy 2.0 and psycopg 3 to 2.1, and
``Node.db_connect()``, psycopg 3 by name under both.  Each version runs in a subprocess of
this interpreter: the virtualenv's own SQLAlchemy, or the other one from a directory that pip
fills once and that is
cached in ``~/.cache/joule-sync`` (nothing here ever skips).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from joule_sync.devnode import LIVE_STREAMS, DevNode
from joule_sync.devnode._support import locked

# the driver each version picks for a bare postgresql://
URL_DRIVER = {"2.0": "psycopg2", "2.1": "psycopg"}

# both routes, in a subprocess that has the SQLAlchemy under test first on its path
PROBE = """
import json, sys
import sqlalchemy
import joule_sync

target = json.load(sys.stdin)
queries = {
    "one": "SELECT 1",
    "user": "SELECT current_user",
    "stream_tables": "SELECT count(*) FROM pg_tables"
    " WHERE schemaname = 'data' AND tablename ~ '^stream[0-9]+$'",
}
report = {"version": sqlalchemy.__version__}
with joule_sync.Node(target["url"], target["key"]) as node:
    engines = {
        "to_dsn": lambda: sqlalchemy.create_engine(node.db_connection_info().to_dsn()),
        "db_connect": node.db_connect,
    }
    for route, make_engine in engines.items():
        engine = make_engine()
        try:
            with engine.connect() as connection:
                report[route] = {
                    "driver": engine.dialect.driver,
                    **{name: connection.execute(sqlalchemy.text(sql)).scalar()
                       for name, sql in queries.items()},
                }
        finally:
            engine.dispose()
print(json.dumps(report))
"""


def sqlalchemy_dir(version: str) -> Path:
    """A directory holding SQLAlchemy VERSION (and what it needs), installed by pip once."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "joule-sync"
    target = cache / f"sqlalchemy-{version}-py{sys.version_info.major}{sys.version_info.minor}"
    with locked(target.with_name(target.name + ".lock")):
        if target.is_dir():
            return target
        # installed aside and renamed, so an interrupted install is never taken for a done one
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(partial), f"sqlalchemy=={version}.*"],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        if pip.returncode != 0:
            pytest.fail(f"installing SQLAlchemy {version} failed:\n{pip.stdout}{pip.stderr}")
        partial.rename(target)
        return target


@pytest.mark.parametrize("version", sorted(URL_DRIVER))
def test_both_routes_query_the_nodes_database(joule_node: DevNode, version: str) -> None:
    env = dict(os.environ)
    if not sqlalchemy.__version__.startswith(f"{version}."):
        env["PYTHONPATH"] = os.pathsep.join(
            [str(sqlalchemy_dir(version)), *filter(None, [env.get("PYTHONPATH")])]
        )
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps({"url": joule_node.url, "key": joule_node.key}),
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)

    assert report["version"].startswith(f"{version}.")
    drivers = {"to_dsn": URL_DRIVER[version], "db_connect": "psycopg"}
    for route, driver in drivers.items():
        assert report[route]["driver"] == driver, route
        assert report[route]["one"] == 1, route
        assert report[route]["user"] == "joule_module", route
        # the live streams' at least (the harness waits for their data); other tests add more
        assert report[route]["stream_tables"] >= len(LIVE_STREAMS), route
