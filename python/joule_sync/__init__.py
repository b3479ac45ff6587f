"""joule-sync: a blocking, fast Python client for Joule nodes.

``Node`` mirrors upstream ``joule.api.Node`` method for method, without ``await``::

    import joule_sync

    with joule_sync.get_node() as node:          # the default node of the `joule` CLI
        stream = node.data_stream_get("/plugs/power")
        print(node.data_intervals(stream))
"""

from . import _errors, codec, utilities
from ._config import get_node
from ._copy import CopyResult
from ._errors import *  # noqa: F403  (the exception tree: see _errors)
from ._export import ExportResult
from ._import import ImportResult
from ._models import (
    Annotation,
    AnnotationInfo,
    ConnectionInfo,
    DataStream,
    DataStreamInfo,
    Element,
    Event,
    EventStream,
    EventStreamInfo,
    Folder,
    Follower,
    Master,
    Module,
    ModuleStatistics,
    NodeInfo,
    Proxy,
)
from ._node import Node
from ._pipes import Block, ReadPipe, WritePipe
from ._transport import __version__

__all__ = [
    "Annotation",
    "AnnotationInfo",
    "Block",
    "ConnectionInfo",
    "CopyResult",
    "DataStream",
    "DataStreamInfo",
    "Element",
    "Event",
    "EventStream",
    "EventStreamInfo",
    "ExportResult",
    "Folder",
    "Follower",
    "ImportResult",
    "Master",
    "Module",
    "ModuleStatistics",
    "Node",
    "NodeInfo",
    "Proxy",
    "ReadPipe",
    "WritePipe",
    "__version__",
    "codec",
    "get_node",
    "utilities",
]
__all__ += _errors.__all__
