"""The database calls: the connection info a respx-mocked node gives, and the engine made
from it (connecting for real: test_db.py).
"""

from __future__ import annotations

import pytest

from joule_sync import ConfigurationError
from wire import CONNECTION_JSON


def test_db_connection_info_replaces_a_loopback_host_with_the_nodes(mocked_node, mock):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    info = mocked_node.db_connection_info()
    assert (info.username, info.port, info.database, info.host) == (
        "joule_module",
        55432,
        "joule",
        "joule.test",
    )
    assert info.password == "0aef988113324d1c"


def test_db_connection_info_keeps_a_real_host(mocked_node, mock):
    mock.get("/db/connection.json").respond(json={**CONNECTION_JSON, "host": "db.example"})
    assert mocked_node.db_connection_info().host == "db.example"


def test_db_connect_makes_a_psycopg_engine(mocked_node, mock):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    engine = mocked_node.db_connect()
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert (engine.url.host, engine.url.port, engine.url.database) == (
            "joule.test",
            55432,
            "joule",
        )
        assert engine.url.password == "0aef988113324d1c"
    finally:
        engine.dispose()


def test_db_connect_without_the_db_extra_says_how_to_get_it(mocked_node, mock, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "sqlalchemy", None)
    with pytest.raises(ConfigurationError, match=r"joule-sync\[db\]"):
        mocked_node.db_connect()


def test_db_connect_without_psycopg_says_how_to_get_it(mocked_node, mock, monkeypatch):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(ConfigurationError, match=r"psycopg driver.*joule-sync\[db\]"):
        mocked_node.db_connect()
