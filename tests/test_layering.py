"""The client stands apart from the dev node: importing it, or its command, loads neither the
dev node (``joule_sync.devnode``, the demo with it) nor matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys

# in a fresh interpreter: this test session has imported the dev node already
LOADED_MODULES = """
import contextlib, json, sys
import joule_sync, joule_sync._cli
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
    joule_sync._cli.main(["export", "--help"])  # builds every subcommand's parser
print(json.dumps(sorted(sys.modules)))
"""


def test_the_client_and_its_command_load_neither_the_dev_node_nor_matplotlib() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "joule_sync._cli" in loaded
    unwanted = ("joule_sync.devnode", "matplotlib")
    assert [n for n in loaded if any(n == p or n.startswith(f"{p}.") for p in unwanted)] == []
