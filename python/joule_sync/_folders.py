"""Folders: the node's tree of data streams, event streams and sub-folders."""

from __future__ import annotations

from ._arguments import require_model, require_text, spec
from ._models import DataStream, EventStream, Folder
from ._transport import Transport


def root(transport: Transport) -> Folder:
    """The root folder with the whole tree below it."""
    return Folder.from_json(transport.json("GET", "/folders.json"))


def path_of(
    transport: Transport,
    named: DataStream | EventStream | str | int,
    stream: DataStream | EventStream,
) -> str:
    """The path of ``stream``, which the caller ``named``: the path itself when it was named
    by path, else where the tree has it (ids and objects say nothing of their folder)."""
    return named if isinstance(named, str) else root(transport).path_of(stream)


def get(transport: Transport, folder: Folder | str | int) -> Folder:
    """One folder (and its tree), by object, path or id."""
    return Folder.from_json(
        transport.json("GET", "/folder.json", params=spec(folder, Folder, "folder"))
    )


def move(transport: Transport, source: Folder | str | int, destination: Folder | str | int) -> None:
    """Move ``source`` into ``destination``, which is created if it does not exist."""
    body = {
        **spec(source, Folder, "source folder", prefix="src_"),
        **spec(destination, Folder, "destination folder", prefix="dest_"),
    }
    transport.ok("PUT", "/folder/move.json", json=body)


def update(transport: Transport, folder: Folder) -> None:
    """Save a folder's ``name`` and ``description`` (the only attributes that change)."""
    require_model(folder, Folder, "folder")
    require_text(folder.name, "folder name")
    transport.ok("PUT", "/folder.json", json={"id": folder.id, "folder": folder.to_json()})


def delete(transport: Transport, folder: Folder | str | int, recursive: bool = False) -> None:
    """Delete a folder; one with sub-folders needs ``recursive=True``."""
    params = {**spec(folder, Folder, "folder"), "recursive": int(bool(recursive))}
    transport.ok("DELETE", "/folder.json", params=params)
