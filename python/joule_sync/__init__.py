"""joule-sync: a blocking, fast Python client for Joule nodes.

``Node`` mirrors upstream ``joule.api.Node`` method for method, without ``await``::

    import joule_sync

    with joule_sync.get_node() as node:          # the default node of the `joule` CLI
        stream = node.data_stream_get("/plugs/power")
        print(node.data_intervals(stream))
"""

from . import codec, utilities
from ._config import get_node
from ._copy import CopyResult
from ._errors import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    DataError,
    DecimationError,
    EmptyPipeError,
    InvalidArgument,
    InvalidRows,
    JouleError,
    PipeError,
    StreamNotFound,
    SubscriptionError,
)
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
    "ApiError",
    "Block",
    "ConfigurationError",
    "ConnectionFailed",
    "ConnectionInfo",
    "CopyResult",
    "DataError",
    "DataStream",
    "DataStreamInfo",
    "DecimationError",
    "Element",
    "EmptyPipeError",
    "Event",
    "EventStream",
    "EventStreamInfo",
    "ExportResult",
    "Folder",
    "Follower",
    "ImportResult",
    "InvalidArgument",
    "InvalidRows",
    "JouleError",
    "Master",
    "Module",
    "ModuleStatistics",
    "Node",
    "NodeInfo",
    "PipeError",
    "Proxy",
    "ReadPipe",
    "StreamNotFound",
    "SubscriptionError",
    "WritePipe",
    "__version__",
    "codec",
    "get_node",
    "utilities",
]
