"""The command line: `flink-swarm [GLOBAL OPTIONS] COMMAND ...` (see the package's docstring).

Arguments as Flink's own `flink run` takes them: `run`'s options come before the jar (or before the
end of `--python JOB.py`); every word after it is the program's, as it is, options included, with no
`--` needed (a `--` right after the jar is dropped; anything else goes to the program). `spark
submit` takes its options and its application likewise, as spark-submit does. `shell`'s COMMAND is
every word after its first `--`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __doc__ as USAGE
from . import remote, spark, sql
from .cluster import UI_PORT, Cluster, Outcome
from .commands import COMMANDS
from .errors import Refused

# The value-taking options that may come before the command word (and before `run`'s jar).
GLOBAL_OPTIONS = {"--stack": True, "--cwd": True, "--url": True, "--gateway-url": True, "--output": True,
                  "--verbose": False, "-v": False, "-h": False, "--help": False}
# `run`'s own options (True: takes a value), Flink's `flink run` names beside the long ones.
RUN_OPTIONS = {"--class": True, "-c": True, "--parallelism": True, "-p": True, "--savepoint": True,
               "--fromSavepoint": True, "-s": True, "--allow-non-restored-state": False,
               "--allowNonRestoredState": False, "-n": False}
PYTHON_OPTIONS = ("--python", "-py")
# `spark submit`'s own options, spark-submit's names
SPARK_SUBMIT_OPTIONS = {"--class": True, "--name": True, "--conf": True, "--executor-memory": True,
                        "--total-executor-cores": True}


def _takes_value(word: str, options: dict) -> int:
    """How many words an option takes up (1 or 2); 0 when `word` is none of `options`."""
    name = word.split("=", 1)[0]
    if name in options:
        return 2 if options[name] and "=" not in word else 1
    if len(word) > 2 and word[0] == "-" and word[1] != "-" and options.get(word[:2]):  # -p4
        return 1
    return 0


def _file_end(argv: list[str], i: int, options: dict, file_options: tuple[str, ...] = ()) -> int | None:
    """The index after the file word (a jar, or `--python JOB.py`'s job) that the options from `i` on lead
    to; None when there is none."""
    while i < len(argv):
        word = argv[i]
        if word.split("=", 1)[0] in file_options:
            return i + (1 if "=" in word else 2)
        if word == "--":  # the end of the options: the file is next
            return i + 2
        taken = _takes_value(word, options)
        if not taken and not word.startswith("-"):  # the file
            return i + 1
        i += taken or 1  # an unknown option: argparse refuses it
    return None


def split_program_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(this CLI's words, the program's arguments) of a command line: the program's arguments are
    every word after `run`'s jar (or after `--python JOB.py`) or `spark submit`'s application, or after
    `shell`'s `--`; they are not parsed."""
    i = 0
    while i < len(argv) and argv[i] not in COMMANDS:
        i += _takes_value(argv[i], GLOBAL_OPTIONS) or 1
    if i < len(argv) and argv[i] == "shell" and "--" in argv[i:]:
        end = argv.index("--", i)
        return argv[:end], argv[end + 1:]
    if argv[i:i + 1] == ["run"]:
        end = _file_end(argv, i + 1, {**GLOBAL_OPTIONS, **RUN_OPTIONS}, PYTHON_OPTIONS)
    elif argv[i:i + 2] == ["spark", "submit"]:
        end = _file_end(argv, i + 2, {**GLOBAL_OPTIONS, **SPARK_SUBMIT_OPTIONS})
    else:
        return argv, []
    if end is None:
        return argv, []
    rest = argv[end:]
    return argv[:end], rest[1:] if rest[:1] == ["--"] else rest


def _global_options(parser: argparse.ArgumentParser, default) -> None:
    """The options every command takes, before or after the command word (`default`: SUPPRESS in the
    commands' parsers, so that only a given option overrides the top level's)."""
    def value(v):
        return default if default is argparse.SUPPRESS else v
    parser.add_argument("--stack", default=value(None), metavar="S", help="the Pulumi stack (default: the selected one)")
    parser.add_argument("--cwd", default=value(None), metavar="DIR",
                        help="the Pulumi project's folder (default: this one), for `pulumi stack output`")
    parser.add_argument("--url", default=value(None),
                        help="the Flink REST URL (http://host:port) instead of the stack's (a local stack's "
                             "URL, or an SSH tunnel to the jobmanager's node)")
    parser.add_argument("--output", choices=("text", "json"), default=value("text"),
                        help="json: machine-readable output (errors too, as {\"error\": ...})")
    parser.add_argument("-v", "--verbose", action="store_true", default=value(False),
                        help="print the full error text (Flink's Java trace) besides its root cause")


def _run_parser(commands, common, prog: str) -> None:
    run = commands.add_parser(
        "run", parents=[common], allow_abbrev=False, help="upload and run a jar, or run a PyFlink job",
        usage=f"{prog} run [OPTIONS] JAR [ARG...]\n       {prog} run [OPTIONS] --python JOB.py [ARG...]",
        epilog="ARG...: the program's arguments, every word after JAR (or JOB.py), as they are.")
    run.add_argument("jar", type=Path, nargs="?", help="the jar (its Main-Class, or --class)")
    run.add_argument("-py", "--python", type=Path, metavar="JOB.py",
                     help="a PyFlink job instead: copied over SSH into the jobmanager's container and run there "
                          "with `flink run -d -py` (needs the stack's outputs and flink-swarm:flink.python)")
    run.add_argument("-c", "--class", dest="entry_class", metavar="CLASS", help="the entry class (default: the jar's Main-Class)")
    run.add_argument("-p", "--parallelism", type=int, metavar="N",
                     help="the job's default parallelism (refused if above the cluster's task slots)")
    run.add_argument("-s", "--savepoint", "--fromSavepoint", dest="savepoint", metavar="PATH",
                     help="start from this savepoint (or retained checkpoint)")
    run.add_argument("-n", "--allow-non-restored-state", "--allowNonRestoredState", action="store_true",
                     dest="allow_non_restored_state", help="start even if the savepoint has state no operator takes")


def _job_parsers(commands, common) -> None:
    commands.add_parser("list", parents=[common], help="the jobs, newest first")
    for name, text in (("describe", "a job's state, tasks and latest failure"), ("cancel", "cancel a job")):
        commands.add_parser(name, parents=[common], help=text).add_argument("job_id")
    wait = commands.add_parser("wait", parents=[common], help="wait until a job ends; exit 0 iff it FINISHED")
    wait.add_argument("job_id")
    wait.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this many seconds (exit code 124)")
    savepoint = commands.add_parser("savepoint", parents=[common], allow_abbrev=False, help="take a savepoint")
    savepoint.add_argument("job_id")
    savepoint.add_argument("--dir", help="where to (default: the cluster's state.savepoints.dir)")
    stop = commands.add_parser("stop", parents=[common], allow_abbrev=False,
                               help="stop a job with a savepoint (Flink's stop-with-savepoint)")
    stop.add_argument("job_id")
    stop.add_argument("--savepoint-dir", metavar="DIR", help="where to (default: the cluster's state.savepoints.dir)")
    stop.add_argument("--drain", action="store_true",
                      help="emit MAX_WATERMARK first (ends event-time windows; for a job that will not be resumed)")
    for parser in (savepoint, stop):
        parser.add_argument("--timeout", type=float, default=600, metavar="SECONDS", help="seconds to wait for it (default: 600)")
    ui = commands.add_parser("ui", parents=[common], allow_abbrev=False,
                             help="Flink's web UI and REST API at a local URL, through SSH, until Ctrl-C")
    ui.add_argument("--port", type=int, default=UI_PORT, metavar="N",
                    help=f"the local port (default: {UI_PORT}, or a free one if it is taken; 0: a free one)")


def parser(prog: str = "flink-swarm") -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=prog, description=USAGE, allow_abbrev=False,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(top, None)
    top.add_argument("--gateway-url", metavar="URL",
                     help="for sql: the SQL gateway's REST URL (http://host:port) instead of the stack's")
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _global_options(common, argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run_parser(commands, common, prog)
    _job_parsers(commands, common)
    remote.add_parsers(commands, common)
    sql.add_parser(commands, common)
    spark.add_parser(commands, common)
    return top


def parse(argv: list[str], prog: str) -> argparse.Namespace:
    """The parsed command line (SystemExit on a usage error, as argparse has it)."""
    words, program_args = split_program_args(argv)
    top = parser(prog)
    args = top.parse_args(words)
    args.args = program_args
    if args.command == "run" and (args.jar is None) == (args.python is None):
        top.error("run takes a JAR or --python JOB.py (one of them)")
    if args.command == "sql" and (args.file is None) == (args.execute is None):
        top.error("sql takes a FILE.sql or -e STATEMENT (one of them)")
    return args


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    if args.output == "json" and outcome.data is not None:
        print(json.dumps(outcome.data, indent=2), flush=True)
    elif args.output != "json" and outcome.text:
        print(outcome.text, flush=True)


def report_error(err: Refused, args: argparse.Namespace, prog: str) -> None:
    """One line on stderr (its full text too with --verbose); with --output json, an object on stdout."""
    line = str(err)
    if err.trace and not args.verbose and err.trace.strip() not in line:
        line += " (--verbose: the full text)"
    print(f"{prog}: {line}", file=sys.stderr)
    if args.verbose and err.trace:
        print(err.trace.rstrip(), file=sys.stderr)
    if args.output == "json":
        print(json.dumps({**(err.data or {}), "error": str(err), "trace": err.trace, "exit_code": err.exit_code},
                         indent=2))


def main(argv: list[str] | None = None, prog: str = "flink-swarm", python_word: str = "run --python") -> int:
    """Run one command line (default: sys.argv[1:]); its exit code."""
    try:
        args = parse(sys.argv[1:] if argv is None else list(argv), prog)
    except SystemExit as done:  # a usage error (2) or --help (0)
        return done.code if isinstance(done.code, int) else 1
    args.python_word = python_word
    args.show = lambda outcome: report(outcome, args)  # a command's output before it ends (`ui`)
    try:
        with Cluster(args) as cluster:  # closes the SSH tunnel it opened, whatever happens
            outcome = COMMANDS[args.command](cluster, args)
    except Refused as err:
        report_error(err, args, prog)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    report(outcome, args)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
