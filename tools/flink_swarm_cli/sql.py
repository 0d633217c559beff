"""`flink-swarm sql`: Flink SQL through the stack's SQL gateway (gateway.py), one session per run.

The script's statements (sqlscript.py) run in order in one session, each until its result ends (a
query: until its rows end, or --max-rows of them), and the session is closed at the end whatever
happens (an error, a timeout, Ctrl-C). A statement the gateway refuses stops the run, named by its
number and first line, with Flink's root cause. Text: each statement's output once it is done; JSON
(commands.py's table): one object at the end, or with the error when a statement fails.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import gateway
from .cluster import Cluster, Outcome
from .errors import Refused, TimedOut, root_cause, summary
from .rest import FlinkRefused, Rest
from .sqlscript import Statement, split

MAX_ROWS, TIMEOUT = 1000, 600.0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of rows: give 1 or more")
    return int(value)


def add_parser(commands, common) -> None:
    sql = commands.add_parser(
        "sql", parents=[common], allow_abbrev=False, help="run Flink SQL statements through the stack's SQL gateway",
        usage="%(prog)s [OPTIONS] FILE.sql\n       %(prog)s [OPTIONS] -e STATEMENT",
        epilog="Each run is one session of the gateway: a SET holds for the statements after it, in that run.")
    sql.add_argument("file", nargs="?", metavar="FILE.sql", help="a file of statements separated by ; (-: stdin)")
    sql.add_argument("-e", "--execute", metavar="STATEMENT", help="the statement(s) to run instead of a file's")
    sql.add_argument("--max-rows", type=_positive, default=MAX_ROWS, metavar="N",
                     help=f"stop fetching a query's rows after N (default: {MAX_ROWS})")
    sql.add_argument("--timeout", type=float, default=TIMEOUT, metavar="SECONDS",
                     help=f"give up on a statement after this many seconds (default: {TIMEOUT:g}; exit code 124)")
    sql.add_argument("--gateway-url", default=argparse.SUPPRESS, metavar="URL",
                     help="the SQL gateway's REST URL (http://host:port) instead of the stack's")


def script(args: argparse.Namespace) -> list[Statement]:
    """The statements of -e, or of the file (-: stdin); refused when there is none."""
    if args.execute is not None:
        text, where = args.execute, "-e"
    elif args.file == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        try:
            with open(args.file, encoding="utf-8") as source:
                text, where = source.read(), args.file
        except (OSError, UnicodeDecodeError) as err:
            raise Refused(f"cannot read {args.file}: {getattr(err, 'strerror', None) or err}") from None
    found = split(text)
    if not found:
        raise Refused(f"{where} has no statement (only spaces and comments): give statements separated by ;")
    return found


def run(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    statements = script(args)
    rest = Rest(cluster.gateway_url(), gateway.WHO)
    session = gateway.open_session(rest)
    done: list[dict] = []
    try:
        for statement in statements:
            done.append(statement_entry(cluster, statement, one(rest, session, statement, args)))
            args.show(Outcome(None, text(done[-1], args.max_rows)))
    except Refused as err:
        err.data = {"session": session, "statements": done}
        raise
    finally:
        close(rest, session)
    return Outcome({"session": session, "statements": done}, "")


def one(rest: Rest, session: str, statement: Statement, args: argparse.Namespace) -> gateway.Result:
    """Run one statement to its result; a refusal names the statement and says Flink's root cause."""
    try:
        operation = gateway.execute(rest, session, statement.text)
        return gateway.fetch(rest, session, operation, args.max_rows, args.timeout)
    except FlinkRefused as err:
        raise Refused(f"{statement.label()} failed: {root_cause(err.trace) or summary(err.trace)}", err.trace) from None
    except TimedOut as err:
        raise TimedOut(f"{statement.label()} {err}", err.trace) from None
    except Refused as err:
        raise Refused(f"{statement.label()}: {err}", err.trace) from None


def close(rest: Rest, session: str) -> None:
    """Close the session; if that fails, say so (it ends by itself when idle) without hiding the outcome."""
    try:
        gateway.close_session(rest, session)
    except Refused as err:
        print(f"flink-swarm: could not close the SQL gateway's session {session} (it ends by itself once idle for "
              f"sql-gateway.session.idle-timeout): {err}", file=sys.stderr, flush=True)


def statement_entry(cluster: Cluster, statement: Statement, result: gateway.Result) -> dict:
    """A statement's result as --output json has it (commands.py's table)."""
    entry: dict = {"statement": statement.text, "kind": result.kind}
    if result.kind == "job":
        entry.update(job_id=result.job_id, url=page(cluster, result.job_id))
    elif result.kind == "rows" or result.content:
        entry.update(columns=result.columns, rows=result.rows)
        if result.kind == "rows":
            entry["truncated"] = result.truncated
    return entry


def page(cluster: Cluster, job_id: str) -> str | None:
    """The job's page in Flink's web UI (as `run` prints it); None when the stack's outputs cannot say
    where that is (only --gateway-url was given, and Pulumi cannot read the stack)."""
    try:
        return cluster.page(job_id)
    except Refused:
        return None


def text(entry: dict, max_rows: int) -> str:
    """A statement's output as text: `job <id>` and its page, a query's table and count, or `OK` (or a
    statement's table of content, such as SHOW TABLES's)."""
    if entry["kind"] == "job":
        return "\n".join(line for line in (f"job {entry['job_id']}", entry["url"]) if line)
    if "columns" not in entry:
        return "OK"
    columns, rows = entry["columns"], entry["rows"]
    if entry["kind"] == "ok" and len(columns) == 1 and len(rows) == 1:  # one value: SHOW CREATE TABLE, EXPLAIN
        return cell(rows[0][0], escape=False)
    lines = [table(columns, rows)]
    if entry["kind"] == "rows":
        count = f"{len(rows)} row{'' if len(rows) == 1 else 's'}"
        lines.append(count + (f" (fetching stopped at --max-rows {max_rows})" if entry["truncated"] else ""))
    return "\n".join(lines)


def cell(value, escape: bool = True) -> str:
    """A value as the table shows it: NULL, TRUE/FALSE, a string as it is (a line break as \\n), a nested
    value (ROW, MAP, ARRAY) as JSON."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text_value = str(value)
    return text_value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") if escape else text_value


def table(columns: list[str], rows: list[list]) -> str:
    """An aligned text table: the column names, a rule, then the rows."""
    cells = [[cell(v) for v in row] + [""] * (len(columns) - len(row)) for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()
    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(row) for row in cells)])
