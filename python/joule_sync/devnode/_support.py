"""What the dev node's parts share: its error, running commands, and the processes it starts.

Process handling is by PID only (never by name), and Linux-specific: identities are checked in
/proc so that a PID reused by an unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 30


class DevNodeError(RuntimeError):
    """The dev node could not be set up, started or stopped; the message says why (log tails)."""


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a log file, framed for an error message (or a note that it is missing)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as err:
        return f"--- {path}: {err.strerror} ---"
    last = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {path} ---\n{last}"


@dataclass(frozen=True)
class RunAs:
    """The OS user that a command runs as: PostgreSQL refuses to run as root."""

    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()


def run(
    cmd: Sequence[str | Path],
    what: str,
    *,
    as_user: RunAs | None = None,
    stdin_text: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    new_session: bool = False,
) -> str:
    """Run a command to completion and return its output; DevNodeError with its tail on failure."""
    switch = as_user is not None and not as_user.is_self
    try:
        done = subprocess.run(
            [str(part) for part in cmd],
            input=stdin_text,
            stdin=None if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
            check=False,
            start_new_session=new_session,
            user=as_user.uid if switch and as_user else None,
            group=as_user.gid if switch and as_user else None,
            extra_groups=[] if switch else None,
        )
    except OSError as err:
        raise DevNodeError(f"{what}: cannot run {cmd[0]}: {err}") from err
    if done.returncode != 0:
        last = "\n".join(done.stdout.splitlines()[-TAIL_LINES:])
        raise DevNodeError(f"{what} failed (exit {done.returncode}):\n{last}")
    return done.stdout


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock, so concurrent starts/stops of one directory take turns."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_private(path: Path, text: str) -> None:
    """Replace PATH atomically with a file only its owner can read (it holds a secret)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cmdline(pid: int) -> str:
    """The command line of a live process, '' when it is gone, a zombie or not visible."""
    try:
        if _stat_fields(pid)[0] == "Z":
            return ""
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except (OSError, IndexError):
        return ""


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, pgrp, ...]."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def _reap(pid: int) -> None:
    """Collect a child's exit status: a zombie child of ours would otherwise look alive."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_running(pid: int, marker: str) -> bool:
    """True if PID is alive and its command line contains MARKER (so it is still ours).

    A child of this process is judged by its exit status instead: its command line reads blank
    while it execs, right after it was spawned.
    """
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return marker in cmdline(pid)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _ppid, pgrp = _stat_fields(int(entry.name))[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait(gone: list[int], seconds: float) -> bool:
    """Wait until none of the PIDs is alive; False on timeout."""
    deadline = time.monotonic() + seconds
    while True:
        for pid in gone:
            _reap(pid)
        if not any(cmdline(pid) for pid in gone):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def stop_process(pid: int, escalation: Sequence[tuple[signal.Signals, float]]) -> None:
    """Send each signal in turn, waiting up to its seconds for the process to exit."""
    for sig, seconds in escalation:
        _signal(pid, sig)
        if _wait([pid], seconds):
            return
    raise DevNodeError(f"process {pid} did not exit")


def stop_group(pgid: int, seconds: float) -> None:
    """Terminate what is left of a process group (SIGTERM, then SIGKILL after SECONDS)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        members = group_members(pgid)
        if not members:
            return
        for pid in members:
            _signal(pid, sig)
        if _wait(members, seconds):
            return
    raise DevNodeError(f"processes of group {pgid} did not exit: {group_members(pgid)}")
