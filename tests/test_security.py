"""Security: the API key never shows, https is verified, node configurations stay private.

The key is searched for in everything of ours a user or a log can see: reprs and strs of
the Node, pipes, blocks and models, the messages, reprs and formatted tracebacks (causes
included) of errors raised at every stage, reads and writes cut off midway among them, and
every log record of every logger at DEBUG.

https: the session's node behind a TLS-terminating proxy whose certificate a test CA
(made with the openssl command) signed.  The right CA, given as ``ca_file``, as ``ca.crt``
in the CLI's config dir, as ``JOULE_CA_FILE`` or through the system store
(``SSL_CERT_FILE``), lets requests through; the system store alone, certifi's bundle, or
another CA do not; ``verify=False`` does, with one warning.
"""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import numpy as np
import pytest

import joule_sync
from conftest import MakeStream
from faultproxy import Fault, FaultProxy
from joule_sync import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    DataError,
    JouleError,
    Node,
    StreamNotFound,
    get_node,
)
from joule_sync.devnode import DevNode
from rows import make_rows

# -- the key never shows ---------------------------------------------------------------


def _everything_shown(error: BaseException) -> str:
    """An error's message, repr and formatted traceback, with its causes."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def test_the_key_never_shows_in_reprs_errors_tracebacks_or_logs(
    joule_node: DevNode, make_stream: MakeStream, caplog: pytest.LogCaptureFixture
) -> None:
    key = joule_node.key
    stream = make_stream("float32_3")
    rows = make_rows("float32_3", 20_000)
    shown: list[str] = []
    errors: list[JouleError] = []

    def expect(error_type: type[JouleError], call: object) -> None:
        with pytest.raises(error_type) as info:
            call()  # type: ignore[operator]
        errors.append(info.value)

    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    port = urlsplit(joule_node.url).port or 0
    with FaultProxy(port) as proxy, Node(proxy.url, key, retries=1) as node:
        node.transport.backoff_base = 0.01
        shown += [repr(node), str(node)]
        with node.data_write(stream) as writer:
            shown += [repr(writer), str(writer)]
            writer.write(rows)
        with node.data_read(stream) as reader:
            shown += [repr(reader), str(reader)]
            shown += [repr(block) for block in reader][:3]
        shown += [repr(node.data_stream_get(stream)), repr(node.info())]
        shown += [repr(m) for m in node.master_list()]

        # the node refuses, a request goes nowhere, the arguments are wrong
        expect(StreamNotFound, lambda: node.data_stream_get("/no/such/stream"))
        expect(ApiError, lambda: node.data_write("/live/random").close())
        expect(ConfigurationError, lambda: node.data_read(stream, 10, 5))
        expect(DataError, lambda: _write(node, stream, np.zeros((2, 9))))
        # cut off midway: a read, a write, a read ending inside a row, a retried 503
        proxy.inject(Fault(cut_response_after=12_345), method="GET", path="/data")
        expect(ConnectionFailed, lambda: node.data_read_array(stream))
        proxy.inject(Fault(end_response_after=12_345), method="GET", path="/data")
        expect(DataError, lambda: list(node.data_read(stream)))
        proxy.inject(Fault(cut_request_after=50_000), method="POST", path="/data")
        more = make_rows("float32_3", 5_000, start=1_800_000_000_000_000)
        expect(ConnectionFailed, lambda: _write(node, stream, more))
        proxy.inject(Fault(status=503), path="/stream.json", times=2)
        expect(ApiError, lambda: node.data_stream_get(stream))
        proxy.stop_listening()
        with Node(proxy.url, key, retries=1) as unreachable:  # no connection open yet
            unreachable.transport.backoff_base = 0.01
            expect(ConnectionFailed, lambda: unreachable.folder_root())
    # a wrong key is not shown either
    with Node(joule_node.url, "wrong-key-0123456789") as wrong:
        expect(ApiError, lambda: wrong.folder_root())
        assert errors[-1].status == 403  # type: ignore[attr-defined]

    shown += [_everything_shown(error) for error in errors]
    shown += [record.getMessage() for record in caplog.records]
    shown += [repr(record.args) for record in caplog.records]
    assert any("retry" in record.getMessage() for record in caplog.records)
    assert len(errors) == 10
    for text in shown:
        assert key not in text
        assert "wrong-key-0123456789" not in text


def _write(node: Node, stream: joule_sync.DataStream, rows: np.ndarray) -> None:
    with node.data_write(stream) as pipe:
        pipe.write(rows)


def test_keys_of_masters_followers_and_the_dev_node_are_never_shown(joule_node: DevNode) -> None:
    master = joule_sync.Master("user", "bob", key="bob-secret-key-0123")
    follower = joule_sync.Follower("peer", "http://peer:8088", key="peer-secret-key-0123")
    for text in [repr(master), str(master), repr(follower), str(follower)]:
        assert "secret-key" not in text
    assert joule_node.key not in repr(joule_node)


# -- https --------------------------------------------------------------------------------


def _openssl(*arguments: str | Path) -> None:
    subprocess.run(["openssl", *map(str, arguments)], check=True, capture_output=True)


def _make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A CA certificate and key, as an organisation's private CA would be."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A test CA, a certificate it signed for 127.0.0.1 with its key, and another CA."""
    directory = tmp_path_factory.mktemp("tls")
    ca_cert, ca_key = _make_ca(directory, "joule-sync test CA")
    other_ca, _ = _make_ca(directory, "another CA")
    node_key, node_csr, node_cert = (directory / f"node.{s}" for s in ("key", "csr", "crt"))
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", node_key, "-out", node_csr, "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    extensions = directory / "node.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "x509", "-req", "-in", node_csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
        "-out", node_cert, "-days", "2", "-extfile", extensions,
    )  # fmt: skip
    return {"ca": ca_cert, "other": other_ca, "cert": node_cert, "key": node_key}


@pytest.fixture
def https_node(joule_node: DevNode, test_ca: dict[str, Path]) -> Iterator[str]:
    """The session's node behind TLS with the test CA's certificate: its https URL."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(test_ca["cert"], test_ca["key"])
    with FaultProxy(urlsplit(joule_node.url).port or 0, tls=server) as proxy:
        yield proxy.url


def _works(node: Node) -> None:
    with node:
        assert node.data_stream_get("/live/base").name == "base"
        assert len(node.data_read_array("/static/configured")) >= 0


def _refused(node: Node) -> None:
    with node, pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
        node.data_stream_get("/live/base")


@pytest.fixture
def no_system_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither OpenSSL's environment nor httpx's points at a CA file."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_https_verifies_the_node_against_the_ca_file(
    https_node: str, joule_node: DevNode, test_ca: dict[str, Path], no_system_ca: None
) -> None:
    _works(Node(https_node, joule_node.key, ca_file=test_ca["ca"]))
    _refused(Node(https_node, joule_node.key, ca_file=test_ca["other"], retries=0))
    _refused(Node(https_node, joule_node.key, retries=0))  # the system store lacks the CA


def test_https_trusts_the_system_store_and_not_certifi(
    https_node: str,
    joule_node: DevNode,
    test_ca: dict[str, Path],
    no_system_ca: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # certifi's bundle is not the system's: a CA only in it is not trusted
    monkeypatch.setattr(certifi, "where", lambda: str(test_ca["ca"]))
    _refused(Node(https_node, joule_node.key, retries=0))
    # the system store, as OpenSSL finds it, is
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca["ca"]))
    _works(Node(https_node, joule_node.key))


def test_verify_false_is_explicit_and_warns_once(
    https_node: str,
    joule_node: DevNode,
    caplog: pytest.LogCaptureFixture,
    no_system_ca: None,
) -> None:
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        node = Node(https_node, joule_node.key, verify=False)
        _works(node)
    warnings = [
        r.getMessage() for r in caplog.records if "certificate checks are OFF" in r.getMessage()
    ]
    assert len(warnings) == 1, warnings  # once, however many requests follow
    assert https_node in warnings[0]
    with pytest.raises(ConfigurationError, match="verify=False"):
        Node(https_node, joule_node.key, ca_file=Path("ca.crt"), verify=False)


def _config_dir(directory: Path, url: str, key: str, ca: Path | None) -> Path:
    directory.mkdir()
    nodes = directory / "nodes.json"
    nodes.write_text(json.dumps([{"name": "tls", "url": url, "key": key}]))
    nodes.chmod(0o600)
    if ca is not None:
        (directory / "ca.crt").write_bytes(ca.read_bytes())
    return directory


@pytest.mark.parametrize(("ca", "trusted"), [("ca", True), ("other", False)])
def test_get_node_verifies_with_ca_crt_from_the_config_dir(
    https_node: str,
    joule_node: DevNode,
    test_ca: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_system_ca: None,
    ca: str,
    trusted: bool,
) -> None:
    directory = _config_dir(tmp_path / "config", https_node, joule_node.key, test_ca[ca])
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(directory))
    monkeypatch.delenv("JOULE_URL", raising=False)
    node = get_node()
    node.transport.retries = 0
    _works(node) if trusted else _refused(node)


def test_get_node_verifies_with_the_environments_ca_file(
    https_node: str,
    joule_node: DevNode,
    test_ca: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    no_system_ca: None,
) -> None:
    monkeypatch.setenv("JOULE_URL", https_node)
    monkeypatch.setenv("JOULE_KEY", joule_node.key)
    monkeypatch.setenv("JOULE_CA_FILE", str(test_ca["ca"]))
    _works(get_node())


# -- the node configuration is private ---------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o666])
def test_a_node_configuration_others_can_read_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    key = "private-key-0123456789"
    directory = _config_dir(tmp_path / "config", "http://127.0.0.1:1", key, None)
    (directory / "nodes.json").chmod(mode)
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(directory))
    monkeypatch.delenv("JOULE_URL", raising=False)
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        get_node().close()
    assert f"other users can access it (mode {mode:o}): chmod 600" in caplog.text
    assert key not in caplog.text
