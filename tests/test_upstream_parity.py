"""Upstream parity: the same steps through upstream joule 1.0.1's asyncio client and through
joule-sync, on the session's harness node, compared.

The steps live in ``upstream_steps.py``, written once for both clients.  Upstream runs all of
them in one subprocess of jouled's virtualenv; meanwhile joule-sync runs each of them here, on
streams of its own with the same content.  Compared: rows, models (ids aside), counts and
intervals, and which calls raise ApiError, PipeError or EmptyPipeError.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import joule_sync
import upstream_steps
from joule_sync.devnode import DevNode

UPSTREAM_TIMEOUT = 90.0
"""Seconds upstream's whole run may take (about 8 on an idle machine)."""
MAX_LIVE_PROBLEMS = 5

Result = dict[str, Any]
RunStep = Callable[[str], Result]


class UpstreamRun:
    """Upstream's results, from one subprocess that runs every step; the first lookup waits."""

    def __init__(self, joule_node: DevNode, root: str, out_dir: Path) -> None:
        self._stdout = out_dir / "upstream.json"
        self._stderr = out_dir / "upstream.log"
        # the key goes through stdin: a command line is visible to every user
        config = json.dumps({"url": joule_node.url, "key": joule_node.key, "root": root})
        # jouled's Python must not pick up this interpreter's packages
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        with self._stdout.open("w") as out, self._stderr.open("w") as err:
            self._process = subprocess.Popen(
                [str(joule_node.venv / "bin" / "python"), upstream_steps.__file__],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                text=True,
            )
        assert self._process.stdin is not None
        self._process.stdin.write(config)
        self._process.stdin.close()
        self._results: dict[str, Result] | None = None
        self._failure = ""

    def __getitem__(self, step: str) -> Result:
        if self._results is None and not self._failure:
            self._collect()
        if self._failure:
            pytest.fail(self._failure, pytrace=False)
        assert self._results is not None
        result = self._results[step]
        if "crashed" in result:
            pytest.fail(f"upstream's step {step} crashed:\n{result['crashed']}", pytrace=False)
        return result

    def _collect(self) -> None:
        try:
            self._process.wait(timeout=UPSTREAM_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            self._failure = f"upstream's steps took over {UPSTREAM_TIMEOUT:.0f} s"
        else:
            if self._process.returncode == 0:
                self._results = json.loads(self._stdout.read_text())
                return
            self._failure = f"upstream's steps failed ({self._process.returncode})"
        self._failure += ":\n" + self._stderr.read_text()[-3000:]

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


@pytest.fixture(scope="module")
def run_root() -> str:
    return f"/parity_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def upstream(
    joule_node: DevNode, run_root: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UpstreamRun]:
    run = UpstreamRun(joule_node, f"{run_root}/upstream", tmp_path_factory.mktemp("upstream"))
    yield run
    run.stop()


@pytest.fixture(scope="module")
def sync(upstream: UpstreamRun, joule_node: DevNode, run_root: str) -> RunStep:
    """Every step through joule-sync, run while upstream's process runs its own (hence the
    dependency on ``upstream``, which starts it); a step that raised raises in each test of it."""
    results: dict[str, Result | Exception] = {}
    api = upstream_steps.joule_sync_api()
    for step, function in upstream_steps.STEPS.items():
        # a Node per step: node_after_close closes its own
        with joule_sync.Node(joule_node.url, joule_node.key) as node:
            try:
                results[step] = function(node, api, f"{run_root}/sync/{step}")
            except Exception as exc:
                results[step] = exc

    def result(step: str) -> Result:
        found = results[step]
        if isinstance(found, Exception):
            raise found
        return found

    return result


# -- helpers -----------------------------------------------------------------------------------


def intervals(reads: list[Result]) -> list[Result]:
    """Reads joined into the intervals they describe (block boundaries within one may differ)."""
    joined: list[Result] = [{"timestamps": [], "values": []}]
    for read in reads:
        joined[-1]["timestamps"] += read["timestamps"]
        joined[-1]["values"] += read["values"]
        if read["end_of_interval"]:
            joined.append({"timestamps": [], "values": []})
    return joined if joined[-1]["timestamps"] else joined[:-1]


def stored(result: Result) -> Result:
    """What ``upstream_steps.stored`` saw, as intervals of rows."""
    return {"rows": intervals(result["reads"]), "intervals": result["intervals"]}


def consumed_rows(reads: list[Result], first_consumed: int) -> list[Any]:
    """The (timestamp, values) rows consumed: ``first_consumed`` of the first read, then all."""
    pairs = [
        list(zip(r["timestamps"], r["values"], strict=True)) for r in reads if "error" not in r
    ]
    return pairs[0][:first_consumed] + [row for read in pairs[1:] for row in read]


def live_problems(reads: list[Result]) -> list[str]:
    """How a subscription consumed on every third read broke the pipe's promises."""
    problems = []
    unconsumed: list[Any] = []  # (timestamp, value) rows the previous read left
    expected_first: int | None = None  # the value after the last one consumed
    for i, read in enumerate(reads):
        got = [(t, v[0]) for t, v in zip(read["timestamps"], read["values"], strict=True)]
        if not got:
            problems.append(f"read {i} returned no rows")
            continue
        if any(b[0] <= a[0] for a, b in itertools.pairwise(got)):
            problems.append(f"read {i}: timestamps do not strictly increase")
        if any(b[1] != a[1] + 1 for a, b in itertools.pairwise(got)):
            problems.append(f"read {i}: values are not consecutive (a row lost or repeated)")
        if unconsumed and (got[: len(unconsumed)] != unconsumed or len(got) <= len(unconsumed)):
            problems.append(
                f"read {i}: {len(got)} rows from {got[0][1]}, not the {len(unconsumed)} "
                f"unconsumed from {unconsumed[0][1]} followed by new ones"
            )
        if expected_first is not None and got[0][1] != expected_first:
            problems.append(f"read {i} starts at {got[0][1]}, not {expected_first}")
        expected_first = got[-1][1] + 1 if read["consumed"] else None
        unconsumed = [] if read["consumed"] else got
    if sum(read["consumed"] for read in reads) < 1:
        problems.append(f"only {len(reads)} reads: none consumed")
    return problems[:MAX_LIVE_PROBLEMS]


# -- live ----------------------------------------------------------------------------------------


def test_live_subscription_consumed_every_third_read_loses_and_repeats_no_row(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    ours = sync("live_every_third_read")
    theirs = upstream["live_every_third_read"]
    assert live_problems(theirs["reads"]) == [], "upstream breaks it: the check is wrong"
    assert live_problems(ours["reads"]) == []
    assert ours["closed_after_close"] is theirs["closed_after_close"] is True


@pytest.mark.parametrize("step", ["live_every_third_read", "read_loop", "write_pipe"])
def test_pipe_attributes_match_upstream(upstream: UpstreamRun, sync: RunStep, step: str) -> None:
    assert sync(step)["attributes"] == upstream[step]["attributes"]


# -- reads ---------------------------------------------------------------------------------------


def test_read_loop_sees_every_row_once_ending_reads_at_breaks(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    ours, theirs = sync("read_loop"), upstream["read_loop"]
    assert intervals(theirs["reads"]) == theirs["written"]
    assert intervals(ours["reads"]) == ours["written"] == theirs["written"]
    assert ours["intervals"] == theirs["intervals"]
    after_end = ("read_after_end", "is_empty_after_end", "closed_after_end")
    assert {k: ours[k] for k in after_end} == {k: theirs[k] for k in after_end}


def test_read_after_the_end_returns_unconsumed_rows_until_none_are_left(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    keys = ("first", "after_consume_2", "again_unconsumed", "after_all_consumed")
    ours, theirs = sync("unconsumed_after_end"), upstream["unconsumed_after_end"]
    assert {k: ours[k] for k in keys} == {k: theirs[k] for k in keys}


def test_consuming_more_rows_than_read_raises_pipe_error(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    keys = ("consume_more_than_read", "consume_negative")
    ours, theirs = sync("unconsumed_after_end"), upstream["unconsumed_after_end"]
    assert {k: ours[k] for k in keys} == {k: theirs[k] for k in keys}


def test_rows_unconsumed_before_a_break_stay_before_it(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    """Upstream joins them with the next interval; joule-sync keeps the break."""
    ours, theirs = sync("unconsumed_before_break")["reads"], upstream["unconsumed_before_break"]
    theirs = theirs["reads"]
    assert ours[1]["timestamps"] == theirs[0]["timestamps"][1:]
    assert ours[1]["end_of_interval"] is True
    assert consumed_rows(ours, 1) == consumed_rows(theirs, 1)
    assert ours[-1] == theirs[-1] == {"error": "EmptyPipeError"}


def test_reread_last_gives_the_unconsumed_rows_again_with_end_of_interval(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    assert sync("reread_last") == upstream["reread_last"]


def test_is_empty_and_not_empty_match_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    assert sync("is_empty_not_empty") == upstream["is_empty_not_empty"]


def test_flattened_reads_match_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    assert sync("read_flatten") == upstream["read_flatten"]


def test_read_all_with_maxrows_overflow_and_no_data_matches_upstream(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    ours, theirs = sync("read_all"), upstream["read_all"]
    # a range without data is an empty pipe here (README, porting list): read_all gives no
    # rows where upstream raises PipeError("No data in pipe")
    assert theirs.pop("empty_range") == {"error": "PipeError"}
    assert ours.pop("empty_range")["timestamps"] == []
    assert ours == theirs


def test_read_nowait_matches_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    assert sync("read_nowait") == upstream["read_nowait"]


def test_decimated_read_matches_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    ours, theirs = sync("decimated_read"), upstream["decimated_read"]
    # upstream's read_all closes the pipe; joule-sync's need not
    ours_attributes = {k: v for k, v in ours["attributes"].items() if k != "closed"}
    assert ours_attributes == {k: v for k, v in theirs["attributes"].items() if k != "closed"}
    assert theirs["attributes"]["decimated"] is True
    assert ours["rows"] == theirs["rows"]
    assert ours["decimation_factor"] == ours["attributes"]["decimation_level"]


def test_close_and_close_nowait_close_read_pipes(upstream: UpstreamRun, sync: RunStep) -> None:
    ours, theirs = sync("close_nowait"), upstream["close_nowait"]
    assert ours["closed_after_close"] is theirs["closed_after_close"] is True
    # upstream refuses close_nowait on the pipes its Node returns (their close callback is a
    # coroutine); joule-sync has nothing to await, so it closes as close() does
    assert theirs["close_nowait"] == "PipeError"
    assert (ours["close_nowait"], ours["closed_after_close_nowait"]) == ("ok", True)


# -- writes --------------------------------------------------------------------------------------


def test_write_pipe_methods_store_what_upstream_stores(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    ours, theirs = sync("write_pipe"), upstream["write_pipe"]
    assert stored(ours["stored"]) == stored(theirs["stored"])
    after_close = ("closed_after_close", "write_after_close", "close_interval_after_close")
    assert {k: ours[k] for k in (*after_close, "close_again")} == {
        k: theirs[k] for k in (*after_close, "close_again")
    }


@pytest.mark.parametrize("case", ["already_stored", "not_monotonic", "nan"])
def test_refused_rows_raise_api_error_and_store_what_upstream_stores(
    upstream: UpstreamRun, sync: RunStep, case: str
) -> None:
    ours, theirs = sync("write_refused")[case], upstream["write_refused"][case]
    assert theirs["error"] == "ApiError"
    assert ours["error"] == "ApiError"
    assert ours["already_exists"] is theirs["already_exists"]
    assert stored(ours["stored"]) == stored(theirs["stored"])


@pytest.mark.parametrize("case", ["demo", "just_above"])
def test_float_timestamps_store_the_rows_upstream_stores(
    upstream: UpstreamRun, sync: RunStep, case: str
) -> None:
    ours, theirs = sync("float_timestamps")[case], upstream["float_timestamps"][case]
    assert stored(ours) == stored(theirs)


def test_float_timestamp_just_below_a_whole_us_rounds_where_upstream_truncates(
    upstream: UpstreamRun, sync: RunStep
) -> None:
    ours, theirs = sync("float_timestamps"), upstream["float_timestamps"]
    assert stored(theirs["just_below"])["rows"][0]["timestamps"] == [8999]
    assert stored(ours["just_below"])["rows"][0]["timestamps"] == [9000]


# -- arguments, models, the node -----------------------------------------------------------------


def test_wrong_arguments_raise_api_error_as_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    theirs = upstream["argument_errors"]
    assert set(theirs.values()) == {"ApiError"}
    assert sync("argument_errors") == theirs


def test_models_counts_and_intervals_match_upstream(upstream: UpstreamRun, sync: RunStep) -> None:
    assert sync("models") == upstream["models"]


def test_node_works_again_after_close(upstream: UpstreamRun, sync: RunStep) -> None:
    ours, theirs = sync("node_after_close"), upstream["node_after_close"]
    assert ours == theirs == {"folder_root": "root", "data_stream_get": "s"}
