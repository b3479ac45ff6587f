"""The node's PostgreSQL database: how to reach it, and a SQLAlchemy engine on it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ._errors import ConfigurationError
from ._models import ConnectionInfo
from ._transport import Transport, host_of

if TYPE_CHECKING:
    import sqlalchemy


def connection_info(transport: Transport) -> ConnectionInfo:
    """How to reach the node's database; a loopback host is replaced by the node's."""
    info = ConnectionInfo.from_json(transport.json("GET", "/db/connection.json"))
    if _is_loopback(info.host):
        info.host = host_of(transport.url) or info.host
    return info


def connect(transport: Transport) -> sqlalchemy.engine.Engine:
    """A SQLAlchemy engine on the node's database (needs ``joule-sync[db]``)."""
    try:
        import sqlalchemy
    except ImportError as exc:
        raise ConfigurationError(
            "db_connect needs SQLAlchemy and psycopg: pip install 'joule-sync[db]'"
        ) from exc
    info = connection_info(
        transport,
    )
    # psycopg 3 by name: SQLAlchemy 2.0 and 2.1 both have it, but pick different drivers
    # for a bare postgresql://
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg",
        username=info.username,
        password=info.password,
        host=info.host,
        port=info.port,
        database=info.database,
    )
    try:
        return sqlalchemy.create_engine(url)
    except ImportError as exc:
        raise ConfigurationError(
            "db_connect needs the psycopg driver: pip install 'joule-sync[db]'"
        ) from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
