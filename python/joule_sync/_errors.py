"""Every exception joule_sync raises, in one hierarchy.

    JouleError                  base of everything below
    ├── ApiError                the node refused a request: .status (HTTP), .message (its reason)
    │   └── StreamNotFound      the stream (or folder) named does not exist on the node (404)
    ├── ConnectionFailed        the node could not be reached, or the connection broke mid-request
    │   └── SubscriptionError   a live subscription broke off (node restarted, network failed)
    ├── ConfigurationError      bad arguments or configuration, found before anything is sent
    ├── DataError (ValueError)  rows that cannot be encoded, frames that cannot be decoded,
    │   │                       a response cut short (never returned as a short array)
    │   └── DecimationError     decimated data asked for where there is none, or used as raw
    └── EmptyPipeError          read from a pipe that is drained and closed

Names match upstream `joule.errors`, so `except joule.errors.ApiError` ports by changing the
import.  No message ever contains the API key.
"""

from __future__ import annotations


class JouleError(Exception):
    """Base class of every joule_sync error."""


class ApiError(JouleError):
    """The node answered with an error status; ``status`` and ``message`` say which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.message = message
        self.status = status
        super().__init__(message if status is None else f"{message} [{status}]")


class StreamNotFound(ApiError):
    """The stream or folder does not exist on the node."""


class ConnectionFailed(JouleError):
    """The node could not be reached, or the connection failed during a request."""


class SubscriptionError(ConnectionFailed):
    """A live subscription broke off: the node restarted or the connection failed."""


class ConfigurationError(JouleError):
    """Invalid arguments or node configuration, detected before anything is sent."""


class DataError(JouleError, ValueError):
    """Rows that cannot be encoded or frames that cannot be decoded, including truncation."""


class DecimationError(DataError):
    """Decimated data used where raw data is needed, or requested where there is none."""


class EmptyPipeError(JouleError):
    """The pipe is closed and holds no more data."""
