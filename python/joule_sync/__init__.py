"""joule-sync: a blocking, fast Python client for Joule nodes."""

from . import codec
from ._errors import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    DataError,
    DecimationError,
    EmptyPipeError,
    JouleError,
    StreamNotFound,
    SubscriptionError,
)

__all__ = [
    "ApiError",
    "ConfigurationError",
    "ConnectionFailed",
    "DataError",
    "DecimationError",
    "EmptyPipeError",
    "JouleError",
    "StreamNotFound",
    "SubscriptionError",
    "codec",
]
