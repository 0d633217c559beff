"""`tools/flink`'s old command lines, mapped onto the `flink-swarm` CLI, so existing callers keep working:

    tools/flink [--stack S | --url URL] submit JAR [--class C] [--parallelism N]
                                        [--savepoint PATH [--allow-non-restored-state]] [--] [ARG...]
    tools/flink [--stack S]              submit-python JOB.py [--] [ARG...]
    tools/flink [--stack S | --url URL] list
    tools/flink [--stack S | --url URL] cancel JOB_ID
    tools/flink [--stack S | --url URL] savepoint JOB_ID [--dir DIR] [--stop [--drain]]

The old rule for the program's arguments stays here: `submit`'s own options may come before or right
after JAR; the program's arguments start at the first word after JAR that is not one of them, or
after `--`. (`flink-swarm run` has Flink's rule instead: every word after the jar is the program's.)
`savepoint --stop` is `flink-swarm stop`. New commands (describe, wait, --output json) are
`flink-swarm`'s only.
"""
from __future__ import annotations

import argparse
import sys

from .errors import TimedOut
from .main import main as cli_main

PROG = "tools/flink"
COMMANDS = ("submit", "submit-python", "list", "cancel", "savepoint")
GLOBAL_VALUE_OPTIONS = ("--stack", "--url")
# The options of `submit` and `submit-python` (True: takes a value), which split_program_args knows.
SUBMIT_OPTIONS = {"--class": True, "--parallelism": True, "--savepoint": True,
                  "--allow-non-restored-state": False, "-h": False, "--help": False}
SUBMIT_PYTHON_OPTIONS = {"-h": False, "--help": False}


def split_program_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the tool's words, the program's arguments) of an old `submit`/`submit-python` command line.

    The program's arguments are everything after the jar (or job) and the tool's own options that
    follow it, or everything after the first `--`; they are not parsed (a `--class` or `--` among
    them goes to the program)."""
    i = 0
    while i < len(argv) and argv[i] not in COMMANDS:
        i += 2 if argv[i] in GLOBAL_VALUE_OPTIONS else 1
    if i == len(argv) or argv[i] not in ("submit", "submit-python"):
        return argv, []
    options = SUBMIT_OPTIONS if argv[i] == "submit" else SUBMIT_PYTHON_OPTIONS
    i += 1
    file_seen = False
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return argv[:i], argv[i + 1:]
        name = word.split("=", 1)[0]
        if name in options:
            i += 2 if options[name] and "=" not in word else 1
        elif not file_seen:  # the jar or job (or an unknown option, which argparse refuses)
            file_seen = True
            i += 1
        else:
            break
    return argv[:i], argv[i:]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description=__doc__, allow_abbrev=False,
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="The same, and more: the flink-swarm command (flink-swarm --help).")
    top.add_argument("--stack", help="the Pulumi stack (default: the selected one)")
    top.add_argument("--url", help="the Flink REST URL (http://host:port) instead of the stack's (an SSH tunnel to its jobmanager)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    jar = commands.add_parser(
        "submit", help="upload and run a jar", allow_abbrev=False,
        usage=f"{PROG} submit JAR [--class C] [--parallelism N] [--savepoint PATH "
              "[--allow-non-restored-state]] [--] [ARG...]",
        epilog="ARG...: the program's arguments, after JAR and these options (or after --), as they are.")
    jar.add_argument("jar")
    jar.add_argument("--class", dest="entry_class", help="its entry class (default: the jar's Main-Class)")
    jar.add_argument("--parallelism", type=int, help="the job's default parallelism")
    jar.add_argument("--savepoint", help="start from this savepoint (or retained checkpoint)")
    jar.add_argument("--allow-non-restored-state", action="store_true",
                     help="start even if the savepoint has state no operator takes")
    python = commands.add_parser(
        "submit-python", help="run a PyFlink job (the cluster's Python image; over SSH)", allow_abbrev=False,
        usage=f"{PROG} [--stack S] submit-python JOB.py [--] [ARG...]")
    python.add_argument("job")
    commands.add_parser("list", help="the jobs, newest first")
    commands.add_parser("cancel", help="cancel a job").add_argument("job_id")
    savepoint = commands.add_parser("savepoint", help="take a savepoint (and stop the job with --stop)",
                                    allow_abbrev=False)
    savepoint.add_argument("job_id")
    savepoint.add_argument("--dir", help="where to (default: the cluster's state.savepoints.dir)")
    savepoint.add_argument("--stop", action="store_true", help="stop the job with the savepoint")
    savepoint.add_argument("--drain", action="store_true", help="with --stop: drain the job first")
    savepoint.add_argument("--timeout", type=float, default=600, help="seconds to wait (default: 600)")
    return top


def _option(name: str, value) -> list[str]:
    return [] if value is None else [f"{name}={value}"]


def translate(args: argparse.Namespace, program_args: list[str]) -> list[str]:
    """The flink-swarm command line of a parsed old one."""
    argv = [*_option("--stack", args.stack), *_option("--url", args.url)]
    if args.command == "submit":
        flags = ["--allow-non-restored-state"] if args.allow_non_restored_state else []
        return [*argv, "run", *_option("--class", args.entry_class), *_option("--parallelism", args.parallelism),
                *_option("--savepoint", args.savepoint), *flags, args.jar, "--", *program_args]
    if args.command == "submit-python":
        return [*argv, "run", f"--python={args.job}", "--", *program_args]
    if args.command == "savepoint" and args.stop:
        return [*argv, "stop", args.job_id, *_option("--savepoint-dir", args.dir),
                *(["--drain"] if args.drain else []), f"--timeout={args.timeout:g}"]
    if args.command == "savepoint":
        return [*argv, "savepoint", args.job_id, *_option("--dir", args.dir), f"--timeout={args.timeout:g}"]
    return [*argv, args.command, *([args.job_id] if args.command == "cancel" else [])]


def main(argv: list[str] | None = None) -> int:
    """Run one old command line (default: sys.argv[1:]); its exit code."""
    words, program_args = split_program_args(sys.argv[1:] if argv is None else list(argv))
    top = parser()
    try:
        args = top.parse_args(words)
        if args.command == "savepoint" and args.drain and not args.stop:
            top.error("--drain goes with --stop")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    code = cli_main(translate(args, program_args), prog=PROG, python_word="submit-python")
    return 1 if code == TimedOut.exit_code else code  # the old tool knew one failure code
