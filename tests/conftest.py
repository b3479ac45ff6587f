"""Shared pytest fixtures, by section: add new fixtures to the section they belong to."""

from __future__ import annotations

import atexit
import functools
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
import respx

import joule_sync
import wire
from joule_sync.devnode import DevNode, DevNodeError, start, stop

# --------------------------------------------------------------------------------------------
# Harness: a real upstream Joule node (joule_sync.devnode)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def joule_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevNode]:
    """A fresh upstream jouled with its own PostgreSQL, shared by the whole session.

    Only the cached jouled virtualenv is reused; the user's joule config is not touched.  A node
    that cannot start fails every test that uses it, with the log tail that says why (in CI and
    locally alike: these tests never skip).  Everything it started is stopped by PID at session
    end, failed tests or not.
    """
    yield from _running_node(tmp_path_factory, "joule-node", "the Joule node")


@pytest.fixture(scope="module")
def second_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevNode]:
    """A second upstream node for one test module (copies between nodes), without modules:
    it starts sooner and leaves the CPU to the session's node."""
    yield from _running_node(
        tmp_path_factory, "second-node", "the second Joule node", modules=False
    )


def _running_node(
    tmp_path_factory: pytest.TempPathFactory, directory: str, what: str, **options: bool
) -> Iterator[DevNode]:
    """A dev node started in a fresh state directory, then stopped and purged, failed tests
    or not; one that cannot start fails the test with the log tail that says why."""
    state_dir = tmp_path_factory.mktemp(directory)
    cleanup = functools.partial(stop, state_dir, purge=True)
    # for a session that ends without running fixture teardown
    atexit.register(cleanup)
    try:
        try:
            node = start(state_dir, **options)
        except DevNodeError as err:
            # the reason (log tail) alone, without a traceback of the harness
            reason = f"{what} could not start:\n{err}"
            raise pytest.fail.Exception(reason, pytrace=False) from None
        yield node
    finally:
        cleanup()
        atexit.unregister(cleanup)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the node `node`, so `-m "not node"` runs the rest."""
    for item in items:
        if "joule_node" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.node)


# --------------------------------------------------------------------------------------------
# Synchronous Node (joule_sync.Node) on the harness node
# --------------------------------------------------------------------------------------------


@pytest.fixture
def node(joule_node: DevNode) -> Iterator[joule_sync.Node]:
    """A joule_sync.Node connected to the session's node with its key, closed after the test."""
    with joule_sync.Node(joule_node.url, joule_node.key) as connected:
        yield connected


# --------------------------------------------------------------------------------------------
# Bulk data: fresh streams and rows to fill them
# --------------------------------------------------------------------------------------------

MakeStream = Callable[..., joule_sync.DataStream]


@pytest.fixture
def make_stream(node: joule_sync.Node, request: pytest.FixtureRequest) -> MakeStream:
    """Create data streams in a folder of the test's own, e.g. ``make_stream("int16_2")``."""
    test_name = re.sub(r"\W", "_", request.node.name)[:40]
    folder = f"/bulk/{test_name}_{uuid.uuid4().hex[:8]}"

    def create(layout: str = "float32_3", name: str = "s") -> joule_sync.DataStream:
        datatype, width = layout.rsplit("_", 1)
        elements = [joule_sync.Element(name=f"e{i}") for i in range(int(width))]
        stream = joule_sync.DataStream(name=name, datatype=datatype, elements=elements)
        return node.data_stream_create(stream, folder)

    return create


# --------------------------------------------------------------------------------------------
# The wire: a Node whose requests a respx mock answers (samples and helpers in wire.py)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """A respx mock of the node at ``wire.URL``; every route a test sets up must be called."""
    with respx.mock(base_url=wire.URL, assert_all_called=True) as router:
        yield router


@pytest.fixture
def mocked_node() -> Iterator[joule_sync.Node]:
    """A Node on ``wire.URL`` with ``wire.KEY``, for ``mock`` to answer; it retries at once."""
    with joule_sync.Node(wire.URL, wire.KEY) as node:
        node.transport.backoff_base = 0.0
        yield node
