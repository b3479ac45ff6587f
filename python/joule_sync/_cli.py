"""The ``joule-sync`` command: one argparse parser, one function per subcommand.

Every subcommand's parser is declared in ``_add_subcommands``, together, as ``--help`` lists
them: ``_subcommand`` makes one with ``--node`` and its ``handler`` (a function taking the parsed
arguments and returning the exit status), and an option several subcommands take is added by
its one ``_add_<option>`` function.
Commands that talk to a node find it as ``get_node()`` does (``--node NAME``, else
``$JOULE_URL``/``$JOULE_KEY``, else the upstream CLI's default node) and report a
``JouleError`` as one line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from . import codec
from ._config import get_node, node_named_or_at
from ._errors import ConfigurationError, JouleError
from ._export import FORMATS, export_source
from ._models import DataStream, EventStream, Folder
from ._pipes import ReadPipe
from .utilities import human_to_timestamp, timestamp_to_human

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:  # the class is generic for type checkers only
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130  # as shells report a command ended by Ctrl-C

TIMES_HELP = (
    "Times: a UNIX timestamp in microseconds, 'now', 'yesterday', '2 hours ago', "
    "'2024-03-05', '2024-03-05 14:30', '2024-03-05T14:30:00Z', 'March 5, 2024 2:30 PM'... "
    "(local time unless a UTC offset is given)."
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    # progress goes to stderr, so stdout stays machine-readable
    logging.basicConfig(level=logging.INFO, format="[joule-sync] %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per readiness probe
    handler: Handler = args.handler
    try:
        with _terminate_as_interrupt():
            return handler(args)
    except JouleError as err:
        print(f"joule-sync {args.command}: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"joule-sync {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that files are closed in a state resume understands."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="joule-sync",
        description=(
            "Command-line tools of joule-sync, a fast client for Joule nodes: read and export "
            "stream data, copy it to another node, look at streams and folders, run a local "
            "node. "
            "Run 'joule-sync COMMAND --help' for each command's options."
        ),
        epilog=(
            "The node: commands use the node named by --node NAME in the joule CLI's list "
            "($JOULE_USER_CONFIG_DIR/nodes.json, else ~/.joule/nodes.json; add one with "
            "'joule node add NAME URL KEY'); without --node, $JOULE_URL and $JOULE_KEY if set, "
            "else the default node. 'joule-sync dev-node start' runs a local node and "
            "registers it. First steps: 'joule-sync tree', then 'joule-sync info STREAM'."
        ),
    )
    _add_subcommands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def _subcommand(
    commands: Commands,
    name: str,
    handler: Handler,
    help: str,
    *,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that talks to a node: ``--node`` comes first in every one."""
    parser = commands.add_parser(name, help=help, description=description, epilog=epilog)
    parser.add_argument(
        "--node",
        metavar="NAME",
        help="the node's name in the joule CLI's node list (default: $JOULE_URL, else the "
        "default node)",
    )
    parser.set_defaults(handler=handler)
    return parser


def _time(text: str) -> int:
    try:
        return human_to_timestamp(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return int(text)


def _add_stream(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stream", metavar="STREAM", help="the stream's path, e.g. /plugs/power")


def _add_start_end(parser: argparse.ArgumentParser, *, start: str, end: str) -> None:
    """``-s/--start`` and ``-e/--end``, each helped by what it means for the subcommand."""
    parser.add_argument("-s", "--start", type=_time, metavar="TIME", help=start)
    parser.add_argument("-e", "--end", type=_time, metavar="TIME", help=end)


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--format",
        choices=sorted(set(FORMATS.values())),
        help="the format, if the suffix does not say it",
    )


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar, only the summary line"
    )


def _add_range_options(parser: argparse.ArgumentParser) -> None:
    """STREAM and which of its rows: what ``read`` and ``export`` both take."""
    _add_stream(parser)
    _add_start_end(
        parser,
        start="first time to include (default: the first row)",
        end="time to stop before (default: after the last row)",
    )
    parser.add_argument(
        "-i",
        "--elements",
        metavar="LIST",
        help="only these elements, in this order: comma-separated indices (the first is 0) "
        "or names, e.g. 0,2 or 'phase A,phase C'",
    )


def _add_subcommands(commands: Commands) -> None:
    """Every subcommand's parser, in the order ``joule-sync --help`` lists them."""
    tree = _subcommand(
        commands,
        "tree",
        _tree,
        "show the node's folders and streams",
        description=(
            "Print the folders under FOLDER (default: all of them) as a tree, with each data "
            "stream's layout (datatype_elements, e.g. float32_3) and event streams marked "
            "[events]. Streams in use are marked [active] (a module writes them) or "
            "[configured] (set up in the node's config files)."
        ),
    )
    tree.add_argument("folder", nargs="?", default="/", metavar="FOLDER", help="default: /")

    info = _subcommand(
        commands,
        "info",
        _info,
        "show a stream's layout, elements and extent",
        description=(
            "Print what the node knows about a data stream: its layout, elements, settings, "
            "status, and where its data lies (start, end, intervals; the row count is the "
            "node's estimate). Times are local, with the timestamp in µs to paste into "
            "--start/--end."
        ),
    )
    _add_stream(info)

    read = _subcommand(
        commands,
        "read",
        _read,
        "print a stream's rows (as upstream's 'joule data read' does, faster)",
        description=(
            "Print rows to stdout, one per line: the timestamp (UNIX µs), then each value "
            "with six decimals, separated by spaces: the output of upstream's 'joule data "
            "read', byte for byte. Decimated rows (--max-rows) show the mean of each element, "
            "and with --show-bounds also the minimums, then the maximums. "
            "For files (CSV, Parquet, HDF5...) use 'joule-sync export'. " + TIMES_HELP
        ),
    )
    _add_range_options(read)
    read.add_argument(
        "-l",
        "--live",
        action="store_true",
        help="follow the stream: print rows as they arrive, "
        "until Ctrl-C (not with --start, --end or --max-rows)",
    )
    read.add_argument(
        "-r",
        "--max-rows",
        type=_count,
        metavar="N",
        help="about N rows: the node picks the decimation level that fits",
    )
    read.add_argument(
        "-b", "--show-bounds", action="store_true", help="decimated rows: also print min and max"
    )
    read.add_argument(
        "-m",
        "--mark-intervals",
        action="store_true",
        help="print '# interval break' where the data has a gap",
    )

    export = _subcommand(
        commands,
        "export",
        _export,
        "write a stream's rows (or an event stream's events) to a CSV, Parquet, NumPy or HDF5 file",
        description=(
            "Stream the rows of a time range to a file, with a progress bar on stderr and "
            "flat memory whatever the size. The format follows the file's suffix: "
            + ", ".join(
                f"{kind} ({'/'.join(s for s, k in FORMATS.items() if k == kind)})"
                for kind in dict.fromkeys(FORMATS.values())
            )
            + ". CSV: a header, then the timestamp (UNIX µs) and the values of each row. "
            "Parquet: timestamp (UTC) and one column per element. .npy: one structured "
            "array (timestamp, data). HDF5: the layout of upstream's 'joule data read --file', "
            "which 'joule data ingest' reads back. Parquet and HDF5 files (and CSV files with "
            "--csv-header) also hold the stream's path, layout, elements and intervals, so "
            "that 'joule-sync import' restores the interval breaks. "
            "An export that stopped (Ctrl-C, a lost connection, a crash) continues where it "
            "stopped with --resume. "
            "An event stream (STREAM names one where no data stream has its path) exports to "
            "CSV or Parquet, one row per event: start, end (CSV: UNIX µs), id, then its "
            "content keys; it is written whole, without --resume. " + TIMES_HELP
        ),
        epilog="Example: joule-sync export /plugs/power week.parquet --start '7 days ago'",
    )
    _add_range_options(export)
    export.add_argument("path", type=Path, metavar="PATH", help="the file to write")
    _add_format(export)
    export.add_argument(
        "--resume",
        action="store_true",
        help="PATH holds part of this export: continue after its last row (without it, an "
        "existing PATH is an error)",
    )
    export.add_argument(
        "--csv-header",
        action="store_true",
        help="start a CSV with a '# joule: {...}' line saying what it holds (pandas: "
        "read_csv(PATH, comment='#'))",
    )
    _add_quiet(export)

    importer = _subcommand(
        commands,
        "import",
        _import,
        "write a CSV, Parquet, NumPy or HDF5 file's rows to a stream",
        description=(
            "Read a file as 'joule-sync export' writes it (HDF5 also as upstream's 'joule data "
            "read --file' does), a batch at a time, and write the rows the node lacks to "
            "STREAM: rows whose time the stream's intervals already cover are left out, as "
            "'joule data copy' leaves them, so an import that stopped completes when run "
            "again. Without STREAM, the stream the file names, created from the file when "
            "missing; a STREAM given must have the file's layout. The whole file is checked "
            "before anything is written. Interval breaks go where the file has them (.npy "
            "files are bare rows: one interval, and STREAM must be given). " + TIMES_HELP
        ),
        epilog="Example: joule-sync import backfill.parquet /plugs/power",
    )
    importer.add_argument("file", type=Path, metavar="FILE", help="the file to read")
    importer.add_argument(
        "stream", nargs="?", metavar="STREAM", help="the stream's path (default: the file's)"
    )
    _add_start_end(importer, start="first time to import", end="time to stop before")
    _add_format(importer)
    _add_quiet(importer)

    copy = _subcommand(
        commands,
        "copy",
        _copy,
        "copy a stream to another node: what it lacks (as upstream's 'joule data copy')",
        description=(
            "Copy a data stream's rows, or an event stream's events, to another node (or to "
            "another path on the same node). Only what the destination lacks is copied: the "
            "source's intervals minus the destination's, or the events it does not hold "
            "(same start, end and content), so running the same copy again after it stopped "
            "copies only the rest, and a copy that is up to date copies nothing. Interval "
            "breaks come out the same. A missing destination stream is created like the "
            "source; a data stream of another layout there is refused. " + TIMES_HELP
        ),
        epilog=(
            "Examples: joule-sync copy /plugs/power --to backup;  joule-sync copy --node site "
            "/plugs/power --to https://archive.example:8088:/site/power"
        ),
    )
    _add_stream(copy)
    copy.add_argument(
        "-t",
        "--to",
        required=True,
        metavar="NODE[:PATH]",
        help="the destination: a node's name in the joule CLI's node list, or its URL (the "
        "key is the one listed for that URL, or $JOULE_KEY if $JOULE_URL is it), then "
        "optionally ':' and the stream's path there (default: STREAM)",
    )
    _add_start_end(
        copy, start="first time to copy (default: all)", end="time to stop before (default: all)"
    )
    copy.add_argument(
        "-a",
        "--annotations",
        action="store_true",
        help="also copy the data stream's annotations that start in the range and that the "
        "destination lacks",
    )
    _add_quiet(copy)

    demo = _subcommand(
        commands,
        "demo",
        _demo,
        "the tour: load a demo stream, export it to Parquet and plot a day",
        description=(
            "Use the configured node, or with none configured start the local dev node "
            "(see dev-node); load a week of 3-phase power (3 million rows with outages) into "
            "/demo/building/power unless it is there; export it to Parquet with a progress bar; "
            "plot a decimated day to a PNG; print where the files are."
        ),
    )
    demo.add_argument(
        "--out", type=Path, default=Path("out"), help="folder for the files (default: ./out)"
    )

    # the dev node parses its own arguments: its parser, like the rest of it, loads only when run
    dev_node = commands.add_parser(
        "dev-node",
        help="run a local upstream Joule node for development and tests",
        add_help=False,
        prefix_chars="\0",  # no argument starts with NUL: all go to the dev node, --help too
    )
    dev_node.add_argument("arguments", nargs="*")
    dev_node.set_defaults(handler=_dev_node)


def _element_columns(text: str | None, stream: DataStream) -> list[int] | None:
    """Element indices from ``0,2`` or ``phase A,phase C`` (a name wins over an index)."""
    if text is None:
        return None
    names = [e.name for e in stream.elements]
    columns = []
    for token in (t.strip() for t in text.split(",")):
        if token in names:
            columns.append(names.index(token))
        elif token.isdigit() and int(token) < len(names):
            columns.append(int(token))
        else:
            raise ConfigurationError(
                f"no element {token!r} in {stream.name}: its elements are "
                + ", ".join(f"{i} {name!r}" for i, name in enumerate(names))
            )
    return columns


# -- tree ------------------------------------------------------------------------------------


def _tree(args: argparse.Namespace) -> int:
    with get_node(args.node) as node:
        folder = node.folder_root() if args.folder == "/" else node.folder_get(args.folder)
    print(args.folder)
    _print_folder(folder, "", sys.stdout)
    return 0


def _print_folder(folder: Folder, indent: str, out: TextIO) -> None:
    entries: list[tuple[str, Folder | None]] = [
        (f"{s.name}  {s.layout}{_status(s)}", None) for s in folder.data_streams
    ]
    entries += [(f"{s.name}  [events]", None) for s in folder.event_streams]
    entries += [(f"{child.name}/", child) for child in folder.children]
    for position, (label, child) in enumerate(entries):
        last = position == len(entries) - 1
        out.write(f"{indent}{'└── ' if last else '├── '}{label}\n")
        if child is not None:
            _print_folder(child, indent + ("    " if last else "│   "), out)


def _status(stream: DataStream) -> str:
    if stream.active:
        return "  [active]"
    return "  [configured]" if stream.is_configured or stream.locked else ""


# -- info ------------------------------------------------------------------------------------


def _info(args: argparse.Namespace) -> int:
    with get_node(args.node) as node:
        stream = node.data_stream_get(args.stream)
        extent = node.data_stream_info(stream)
        intervals = node.data_intervals(stream)
    keep = {-1: "all data", 0: "no data"}.get(stream.keep_us, f"{stream.keep_us / 86_400e6:g} days")
    lines = [
        f"{args.stream}  (id {stream.id})",
        f"  description:  {stream.description or '-'}",
        f"  layout:       {stream.layout}",
        f"  keep:         {keep}",
        f"  decimate:     {'yes' if stream.decimate else 'no'}",
        f"  status:       {_status(stream).strip() or '[idle]'}",
        f"  start:        {_when(extent.start)}",
        f"  end:          {_when(extent.end)}",
        f"  rows:         about {extent.rows:,}",
        f"  intervals:    {len(intervals):,}",
        "  elements:",
    ]
    for index, element in enumerate(stream.elements):
        units = f" [{element.units}]" if element.units else ""
        lines.append(f"    {index}  {element.name}{units}  ({element.display_type.lower()})")
    print("\n".join(lines))
    return 0


def _when(timestamp: int | None) -> str:
    return "-" if timestamp is None else f"{timestamp_to_human(timestamp)}  ({timestamp})"


# -- read ------------------------------------------------------------------------------------


def _read(args: argparse.Namespace) -> int:
    if args.live and (args.start is not None or args.end is not None):
        raise ConfigurationError("give either --live or --start/--end, not both")
    if args.live and args.max_rows is not None:
        raise ConfigurationError("--live and --max-rows cannot be combined")
    with get_node(args.node) as node:
        stream = node.data_stream_get(args.stream)
        columns = _element_columns(args.elements, stream) or list(range(len(stream.elements)))
        pipe = (
            node.data_subscribe(stream)
            if args.live
            else node.data_read(stream, args.start, args.end, args.max_rows)
        )
        try:
            _print_rows(pipe, columns, args.show_bounds, args.mark_intervals, args.live)
        except BrokenPipeError:  # `| head`: the reader has seen enough
            # and Python's flush of stdout at exit must not fail on it again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except KeyboardInterrupt:
            if not args.live:
                raise
        finally:
            pipe.close()
    return 0


def _print_rows(
    pipe: ReadPipe, columns: list[int], show_bounds: bool, mark_intervals: bool, live: bool
) -> None:
    """Upstream's lines: ``"%d %s" % (timestamp, " ".join("%f" % x for x in values))``."""
    if pipe.decimated and show_bounds:
        width = pipe.dtype["data"].shape[0] // 3  # the means, then the minimums, the maximums
        columns = columns + [c + width for c in columns] + [c + 2 * width for c in columns]
    formatter = codec.CsvFormatter(pipe.layout, delimiter=" ", columns=columns, decimals=6)
    out = sys.stdout.buffer
    for block in pipe:
        formatter.write(block.data, out)
        if block.end_of_interval and mark_intervals:
            out.write(b"# interval break\n")
        if live:
            out.flush()
    out.flush()


# -- export ----------------------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    with get_node(args.node) as node:
        stream = export_source(node.transport, args.stream)
        elements = None
        if isinstance(stream, DataStream):
            elements = _element_columns(args.elements, stream)
        elif args.elements is not None:
            raise ConfigurationError(
                f"--elements picks a data stream's elements: {args.stream} is an event stream"
            )
        result = node.export(
            # the event stream as found: its path would be tried as a data stream again
            args.stream if isinstance(stream, DataStream) else stream,
            args.path,
            start=args.start,
            end=args.end,
            format=args.format,
            elements=elements,
            progress=not args.quiet,
            resume=args.resume,
            csv_header=args.csv_header,
        )
    resumed = "" if result.resumed_after is None else f" (resumed after {result.resumed_after})"
    rows = "events" if isinstance(stream, EventStream) else "rows"
    print(
        f"{result.path}: {result.rows:,} {rows} of {args.stream} as {result.format}{resumed}",
        file=sys.stderr,
    )
    return 0


# -- import ----------------------------------------------------------------------------------


def _import(args: argparse.Namespace) -> int:
    with get_node(args.node) as node:
        result = node.data_import(
            args.file,
            args.stream,
            start=args.start,
            end=args.end,
            format=args.format,
            progress=not args.quiet,
        )
    created = " (created)" if result.created else ""
    print(
        f"{result.path}: {result.rows:,} rows written to {result.stream.name!r}{created}, "
        f"{result.skipped:,} it had already",
        file=sys.stderr,
    )
    return 0


# -- copy ------------------------------------------------------------------------------------


def _copy(args: argparse.Namespace) -> int:
    target, path = _destination(args.to)
    with get_node(args.node) as node, node_named_or_at(target) as dest:
        if isinstance(export_source(node.transport, args.stream), EventStream):
            if args.annotations:
                raise ConfigurationError(
                    f"--annotations is for data streams: {args.stream} is an event stream"
                )
            added = node.event_copy(args.stream, dest, path, start=args.start, end=args.end)
            print(
                f"{args.stream} -> {dest.name}:{path or args.stream}: "
                f"{_counted(added, 'event')} added",
                file=sys.stderr,
            )
            return 0
        result = node.data_copy(
            args.stream,
            dest,
            path,
            start=args.start,
            end=args.end,
            annotations=args.annotations,
            progress=not args.quiet,
        )
    done = [f"{_counted(result.rows, 'row')} in {_counted(len(result.ranges), 'range')}"]
    if result.created:
        done.append("stream created")
    if args.annotations:
        done.append(_counted(result.annotations, "annotation"))
    print(f"{args.stream} -> {dest.name}:{result.path}: {', '.join(done)}", file=sys.stderr)
    return 0


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _destination(text: str) -> tuple[str, str | None]:
    """``NODE`` or ``NODE:PATH``; the colons of a URL (``https://host:8088``) are its own."""
    separators = [i for i in range(len(text) - 1) if text[i : i + 2] == ":/"]
    separators = [i for i in separators if not text.startswith("://", i)]
    if not separators:
        return text, None
    node, path = text[: separators[-1]], text[separators[-1] + 1 :]
    if not node:
        raise ConfigurationError(f"--to {text!r} names no node: NODE or NODE:/path")
    return node, path


# -- demo ------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from .devnode import demo  # the client alone needs neither the dev node nor the demo

    return demo.run(args.out, args.node)


# -- dev-node --------------------------------------------------------------------------------


def _dev_node(args: argparse.Namespace) -> int:
    from . import devnode  # the client alone never needs the dev node

    return devnode.main(args.arguments)


if __name__ == "__main__":
    sys.exit(main())
