"""A jouled reader module that counts: the k-th row it produces holds the value k.

It feeds the dev node's ``/live/base`` (int32_1) so tests can check live and stored data
exactly: values 0, 1, 2, ... with timestamps exactly 1/rate apart from the module's start.

jouled runs it with its own virtualenv's Python, from a copy in the node's state dir.  It uses
the standard library only, speaking jouled's module pipe protocol directly (what upstream's
ReaderModule does underneath): jouled passes ``--pipes`` (JSON encoded twice) naming an
inherited file descriptor per output, and reads raw rows from it, each a little-endian int64
timestamp in microseconds followed by the elements (here one int32).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import time

ROW = struct.Struct("<qi")
_WAKEUP_S = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipes", required=True, help="set by jouled: the output descriptors")
    parser.add_argument("--rate", type=float, default=20.0, help="rows per second")
    # jouled also passes --api-socket, which this module does not need
    args, _ = parser.parse_known_args()
    fd = int(json.loads(json.loads(args.pipes))["outputs"]["output"]["fd"])
    period_us = round(1e6 / args.rate)

    start_us = time.time_ns() // 1000
    produced = 0
    with os.fdopen(fd, "wb", buffering=0) as output:
        while True:
            # every row whose timestamp has passed, so the stream keeps pace with the wall clock
            due = (time.time_ns() // 1000 - start_us) // period_us + 1
            rows = (ROW.pack(start_us + k * period_us, k) for k in range(produced, due))
            try:
                output.write(b"".join(rows))
            except BrokenPipeError:
                return  # jouled is gone
            produced = due
            time.sleep(_WAKEUP_S)


if __name__ == "__main__":
    main()
