"""Every exception joule_sync raises, in one hierarchy.

    JouleError                      base of everything below
    ├── ApiError                    the node refused a request, or would have: .status, .message
    │   ├── StreamNotFound          the stream or folder named does not exist on the node (404)
    │   ├── InvalidArgument         an argument the node (or upstream's client) refuses, found
    │   │   (ConfigurationError)    before anything is sent (status 400)
    │   └── InvalidRows (DataError) rows the node refuses (NaN, timestamps that are not
    │                               monotonic), found before they are sent (status 400)
    ├── ConnectionFailed            the node could not be reached, or the connection broke
    │   └── SubscriptionError       a live subscription broke off (node restarted, network failed)
    ├── ConfigurationError          bad settings of our own (URL, timeout, CA file, a missing
    │                               extra), found before anything is sent
    ├── DataError (ValueError)      frames that cannot be decoded, a response cut short (never a
    │   │                           short array), rows the codec cannot encode, a node's answer
    │   │                           that makes no sense as data
    │   └── DecimationError         decimated data asked for where there is none, or used as raw
    └── PipeError                   a pipe used wrongly (consuming rows never read), or failed
        └── EmptyPipeError          read from a pipe that is drained and whose data has ended

Names match upstream ``joule.errors``, so ``except joule.errors.ApiError`` ports by changing the
import.  Upstream answers a refused argument or refused rows with ``ApiError``; joule-sync finds
most of them before sending, and raises classes that are both: ``except ApiError`` catches them
as it did upstream, ``except ConfigurationError``/``except DataError`` as it does here.  No
message ever contains the API key.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ConfigurationError",
    "ConnectionFailed",
    "DataError",
    "DecimationError",
    "EmptyPipeError",
    "InvalidArgument",
    "InvalidRows",
    "JouleError",
    "PipeError",
    "StreamNotFound",
    "SubscriptionError",
]
"""What ``joule_sync`` exports of this module: the whole tree."""


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
    """Invalid settings or arguments, detected before anything is sent."""


class InvalidArgument(ConfigurationError, ApiError):
    """An argument the node (or upstream's client) refuses with ApiError, refused first."""

    def __init__(self, message: str, status: int | None = 400) -> None:
        ApiError.__init__(self, message, status)


class DataError(JouleError, ValueError):
    """Rows that cannot be encoded or frames that cannot be decoded, including truncation."""


class InvalidRows(DataError, ApiError):
    """Rows the node refuses (NaN, timestamps that are not monotonic), refused before sending."""

    def __init__(self, message: str, status: int | None = 400) -> None:
        ApiError.__init__(self, message, status)


class DecimationError(DataError):
    """Decimated data used where raw data is needed, or requested where there is none."""


class PipeError(JouleError):
    """A pipe used wrongly (consuming more rows than were read), or a pipe that failed."""


class EmptyPipeError(PipeError):
    """The pipe holds no unconsumed rows and its data has ended."""
