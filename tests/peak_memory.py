"""Peak resident memory of an operation, for tests that run it in a subprocess.

``ru_maxrss`` will not do: Linux carries it over ``execve``, so a subprocess started by a
big pytest process reports pytest's peak.  ``VmHWM`` belongs to the process's own memory
map, and writing 5 to ``/proc/self/clear_refs`` resets it to the current resident size.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(f"no {field} in /proc/self/status")


def start_measuring() -> float:
    """Reset the peak; the resident MiB now."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS") / 1024


def peak_mib() -> float:
    """The highest resident MiB since ``start_measuring``."""
    return _status_kib("VmHWM") / 1024


def run_script(script: str, *args: str) -> str:
    """Run ``script`` in a new interpreter that can import this module; its stdout."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n" + script,
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
