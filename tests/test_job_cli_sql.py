"""`flink-swarm sql` (tools/flink_swarm_cli/sql.py, gateway.py, sqlscript.py) against a fake SQL gateway:
an http.server that answers as Flink 1.20's REST endpoint does (v1 paths, FetchResultsResponseBody as
FetchResultsResponseBodySerializer writes it, a strict request mapper, errors as {"errors": [...]}), with
sessions, operations whose results come in pages (NOT_READY, PAYLOAD, EOS, each page's nextResultUri),
changelogs, jobs and failures. The stack is a fake `pulumi` and a fake `ssh` whose tunnels lead to it."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.harness import as_from_a_terminal
from tests.test_flink_tool import FAKE_PULUMI, JM, executable, ssh_options

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

from flink_swarm_cli import gateway, main  # noqa: E402
from flink_swarm_cli.sqlscript import split  # noqa: E402

STRING = {"type": "VARCHAR", "nullable": True, "length": 2147483647}
BIGINT = {"type": "BIGINT", "nullable": True}
FLINK_UI = "http://127.0.0.1:18081"  # --url: where the job links point (nothing answers there)


def server_trace(*causes: str) -> list[str]:
    """An operation's failure as the gateway answers it: HTTP 500, AbstractHandler's two errors, the trace
    of SqlGatewayServiceImpl.fetchResults's SqlGatewayException with the operation's error as its causes."""
    lines = ["org.apache.flink.table.gateway.api.utils.SqlGatewayException: org.apache.flink.table.gateway.api."
             "utils.SqlGatewayException: Failed to fetchResults.",
             "\tat org.apache.flink.table.gateway.rest.handler.statement.FetchResultsHandler.handleRequest("
             "FetchResultsHandler.java:91)",
             "Caused by: org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.",
             "\tat org.apache.flink.table.gateway.service.SqlGatewayServiceImpl.fetchResults(SqlGatewayServiceImpl.java:238)",
             "\t... 48 more",
             "Caused by: org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to execute the "
             "operation 5d1c2a9e-8f0b-4b8e-9a57-1f7c0b2d3e4f."]
    for cause in causes:
        lines += [f"Caused by: {cause}", "\tat org.apache.flink.table.planner.calcite.FlinkPlannerImpl.validate("
                  "FlinkPlannerImpl.scala:200)", "\t... 12 more"]
    return ["Internal server error.", "<Exception on server side:\n" + "\n".join(lines) + "\nEnd of exception on "
            "server side>"]


NOT_FOUND = server_trace(
    "org.apache.flink.table.api.ValidationException: SQL validation failed. From line 1, column 15 to line 1, "
    "column 18: Object 'nope' not found",
    "org.apache.calcite.runtime.CalciteContextException: From line 1, column 15 to line 1, column 18: Object "
    "'nope' not found",
    "org.apache.calcite.sql.validate.SqlValidatorException: Object 'nope' not found")


def ok() -> dict:
    """SET, CREATE, DROP, USE: resultKind SUCCESS, one row "OK" (as the gateway's ResultSet for them)."""
    return {"columns": [("result", STRING)], "kind": "SUCCESS", "query": False,
            "pages": [[("INSERT", ["OK"])], "EOS"]}


def content(columns: list[str], rows: list[list]) -> dict:
    return {"columns": [(c, STRING) for c in columns], "kind": "SUCCESS_WITH_CONTENT", "query": False,
            "pages": [[("INSERT", r) for r in rows], "EOS"]}


def job(jid: str) -> dict:
    """An INSERT: its job submitted (table.dml-sync off), the result is its job id."""
    return {"columns": [("job id", STRING)], "kind": "SUCCESS_WITH_CONTENT", "query": False, "job": jid,
            "pages": ["NOT_READY", [("INSERT", [jid])], "EOS"]}


def query(columns: list[tuple], *pages) -> dict:
    return {"columns": columns, "kind": "SUCCESS_WITH_CONTENT", "query": True, "job": uuid.uuid4().hex,
            "pages": list(pages)}


class FakeGateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.plans: dict[str, dict] = {}  # statement -> its result (or {"error": [...]}, or {"endless": True})
        self.sessions: dict[str, dict] = {}
        self.operations: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.fetching = threading.Event()  # set at each fetch of an endless operation
        self.lock = threading.Lock()

    def statements(self) -> list[str]:
        return [op["statement"] for op in self.operations.values()]

    def route(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        if (method, path) == ("POST", "/v1/sessions"):
            strict(body, {"sessionName", "properties"})
            session = str(uuid.uuid4())
            self.sessions[session] = {"closed": False}
            return 200, {"sessionHandle": session}
        found = re.fullmatch(r"/v1/sessions/([^/]+)(/.*)?", path)
        if not found or found[1] not in self.sessions or self.sessions[found[1]]["closed"]:
            return 500, {"errors": server_trace(f"org.apache.flink.table.gateway.api.utils.SqlGatewayException: "
                                                f"Session '{found and found[1]}' does not exist.")}
        session, rest = found[1], found[2] or ""
        if method == "DELETE" and not rest:
            self.sessions[session]["closed"] = True
            return 200, {"status": "CLOSED"}
        if (method, rest) == ("POST", "/statements"):
            statement = strict(body, {"statement", "executionTimeout", "executionConfig"})["statement"]
            operation = str(uuid.uuid4())
            self.operations[operation] = {"statement": statement, "session": session, "next": 0, "page": 0,
                                          "closed": False, "plan": self.plans.get(statement, ok())}
            return 200, {"operationHandle": operation}
        found = re.fullmatch(r"/operations/([^/]+)/(close|result/([0-9]+))", rest)
        if not found or found[1] not in self.operations:
            return 404, {"errors": [f"Not found: {path}"]}
        operation = self.operations[found[1]]
        if found[2] == "close" and method == "DELETE":
            operation["closed"] = True
            return 200, {"status": "CLOSED"}
        return self.fetch(session, found[1], operation, int(found[3]))

    def fetch(self, session: str, handle: str, operation: dict, token: int) -> tuple[int, dict]:
        plan = operation["plan"]
        if "error" in plan:
            return 500, {"errors": plan["error"]}
        assert token == operation["next"], f"fetched token {token}, expected {operation['next']}"
        uri = f"/v1/sessions/{session}/operations/{handle}/result/{{}}"  # v1: no rowFormat (FetchResultsHeaders)
        if plan.get("endless"):
            self.fetching.set()
            return 200, {"resultType": "NOT_READY", "nextResultUri": uri.format(token)}
        page = plan["pages"][operation["page"]]
        operation["page"] += 1
        if page == "NOT_READY":
            return 200, {"resultType": "NOT_READY", "nextResultUri": uri.format(token)}
        answer = {"resultType": "EOS" if page == "EOS" else "PAYLOAD", "isQueryResult": plan["query"],
                  **({"jobID": plan["job"]} if plan.get("job") else {}), "resultKind": plan["kind"],
                  "results": {"columns": [{"name": n, "logicalType": t, "comment": None} for n, t in plan["columns"]],
                              "rowFormat": "JSON",
                              "data": [] if page == "EOS" else [{"kind": k, "fields": f} for k, f in page]}}
        if page != "EOS":
            operation["next"] = token + 1
            answer["nextResultUri"] = uri.format(token + 1)
        return 200, answer


def strict(body: bytes, fields: set) -> dict:
    """A request body as Flink's strict mapper reads it: unknown fields are refused (an AssertionError here)."""
    value = json.loads(body or b"{}")
    assert isinstance(value, dict) and set(value) <= fields, value
    return value


class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        server: FakeGateway = self.server
        with server.lock:
            server.calls.append((method, self.path))
            status, answer = server.route(method, parts.path, parse_qs(parts.query), body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer("GET")

    def do_POST(self):
        self.answer("POST")

    def do_DELETE(self):
        self.answer("DELETE")


@pytest.fixture
def sqlgw():
    server = FakeGateway()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(gateway, "FIRST_PAUSE", 0.005)
    monkeypatch.setattr(gateway, "LONGEST_PAUSE", 0.02)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sql(capsys, gw: FakeGateway, *argv: str) -> tuple[int, str, str]:
    return cli(capsys, "--url", FLINK_UI, "--gateway-url", gw.url, "sql", *argv)


def link(jid: str) -> str:
    return f"{FLINK_UI}/#/job/running/{jid}/overview"


# the script: statements split on ; outside quotes and comments -------------------------------------------


@pytest.mark.parametrize("script, statements", [
    ("SET 'a' = 'b'; SELECT 1", ["SET 'a' = 'b'", "SELECT 1"]),  # the last one without ;
    ("SELECT 'a;b', 'it''s; here' FROM t;", ["SELECT 'a;b', 'it''s; here' FROM t"]),
    ("SELECT ''';''' ;", ["SELECT ''';'''"]),  # a string that is only a quoted ;
    ("CREATE TABLE `we;ird``s;` (a INT);;", ["CREATE TABLE `we;ird``s;` (a INT)"]),
    ("-- a comment; with ;\nSELECT 1; -- after;\n", ["SELECT 1"]),
    ("/* a; block\n comment */ SELECT 2 /* in; it */ FROM t; /* only a comment */;",
     ["SELECT 2 /* in; it */ FROM t"]),
    ("SELECT /*+ OPTIONS('k'=';') */ * FROM t -- why;\n;", ["SELECT /*+ OPTIONS('k'=';') */ * FROM t -- why;"]),
    ("SELECT '--not a comment;', '/*;*/' ; SELECT 3", ["SELECT '--not a comment;', '/*;*/'", "SELECT 3"]),
    ("  \n ; ;\n-- nothing\n/* at all */", []),
    ("SELECT 'unclosed; string", ["SELECT 'unclosed; string"]),  # left to Flink's parser to refuse
    ("INSERT INTO t\nSELECT *\n  FROM s;\n\nSELECT 1\n", ["INSERT INTO t\nSELECT *\n  FROM s", "SELECT 1"]),
])
def test_the_script_splits_on_semicolons_outside_quotes_and_comments(script, statements):
    assert [s.text for s in split(script)] == statements


def test_a_statement_knows_its_number_line_and_first_line():
    first, second = split("-- setup\nSET 'x' = 'y';\n\nSELECT word, COUNT(*) AS n FROM words GROUP BY word "
                          "HAVING COUNT(*) > 1\n  ORDER BY n")
    assert (first.number, first.line, first.label()) == (1, 2, "statement 1 (SET 'x' = 'y')")
    assert (second.number, second.line) == (2, 4)
    assert second.label() == "statement 2 (SELECT word, COUNT(*) AS n FROM words GROUP BY word HAVIN...)"


# statements and what they print -------------------------------------------------------------------------


def test_a_file_of_statements_in_one_session(sqlgw, capsys, tmp_path):
    jid = uuid.uuid4().hex
    sqlgw.plans.update({
        "SHOW TABLES": content(["table name"], [["clicks"], ["words"]]),
        "INSERT INTO clicks SELECT * FROM src": job(jid),
        "SELECT word, n, note FROM words": query(
            [("word", STRING), ("n", BIGINT), ("note", STRING)], "NOT_READY", "NOT_READY",
            [("INSERT", ["flink", 2, None]), ("INSERT", ["swarm", 10, "a\tb"])], [], "NOT_READY",
            [("INSERT", ["it's", 1, "line\nbreak"])], "EOS")})
    script = tmp_path / "job.sql"
    script.write_text("SET 'execution.runtime-mode' = 'streaming';\nCREATE TABLE clicks (a INT);\nSHOW TABLES;\n"
                      "INSERT INTO clicks SELECT * FROM src;\nSELECT word, n, note FROM words\n")
    code, out, err = sql(capsys, sqlgw, str(script))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "OK", "OK",
        "table name", "----------", "clicks", "words",
        f"job {jid}", link(jid),
        "word   n   note", "-----  --  -----------", "flink  2   NULL", "swarm  10  a\\tb", "it's   1   line\\nbreak",
        "3 rows"]
    assert sqlgw.statements() == ["SET 'execution.runtime-mode' = 'streaming'", "CREATE TABLE clicks (a INT)",
                                  "SHOW TABLES", "INSERT INTO clicks SELECT * FROM src",
                                  "SELECT word, n, note FROM words"]
    [session] = sqlgw.sessions.values()
    assert session["closed"]  # one session, closed at the end
    assert {op["session"] for op in sqlgw.operations.values()} == set(sqlgw.sessions)
    fetches = [path for method, path in sqlgw.calls if method == "GET"]
    assert fetches[0].endswith("/result/0?rowFormat=JSON")  # then each nextResultUri as given
    assert all(re.fullmatch(r"/v1/sessions/[^/]+/operations/[^/]+/result/[0-9]+(\?rowFormat=JSON)?", f) for f in fetches)


def test_a_changelog_is_materialised_into_the_final_table(sqlgw, capsys):
    sqlgw.plans["SELECT word, COUNT(*) AS n FROM words GROUP BY word"] = query(
        [("word", STRING), ("n", BIGINT)],
        [("INSERT", ["flink", 1]), ("INSERT", ["swarm", 1]), ("UPDATE_BEFORE", ["flink", 1]),
         ("UPDATE_AFTER", ["flink", 2])],
        [("INSERT", ["gone", 1]), ("DELETE", ["gone", 1]), ("INSERT", ["twice", 1]), ("INSERT", ["twice", 1]),
         ("UPDATE_BEFORE", ["twice", 1]), ("DELETE", ["never there", 5]), ("INSERT", [None, 3])], "EOS")
    code, out, err = sql(capsys, sqlgw, "-e", "SELECT word, COUNT(*) AS n FROM words GROUP BY word")
    assert code == 0, err
    assert out.splitlines() == ["word   n", "-----  -", "swarm  1", "flink  2", "twice  1", "NULL   3", "4 rows"]


def test_json_has_every_statement(sqlgw, capsys):
    jid = uuid.uuid4().hex
    sqlgw.plans.update({"INSERT INTO t VALUES (1)": job(jid),
                        "SELECT 1 AS one, 'x' AS s": query([("one", BIGINT), ("s", STRING)],
                                                           [("INSERT", [1, "x"])], "EOS"),
                        "SHOW TABLES": content(["table name"], [["t"]])})
    code, out, err = sql(capsys, sqlgw, "--output", "json", "-e",
                         "SET 'a' = 'b'; INSERT INTO t VALUES (1); SELECT 1 AS one, 'x' AS s; SHOW TABLES")
    assert code == 0, err
    [session] = sqlgw.sessions
    assert json.loads(out) == {"session": session, "statements": [
        {"statement": "SET 'a' = 'b'", "kind": "ok"},
        {"statement": "INSERT INTO t VALUES (1)", "kind": "job", "job_id": jid, "url": link(jid)},
        {"statement": "SELECT 1 AS one, 'x' AS s", "kind": "rows", "columns": ["one", "s"], "rows": [[1, "x"]],
         "truncated": False},
        {"statement": "SHOW TABLES", "kind": "ok", "columns": ["table name"], "rows": [["t"]]}]}


def test_one_value_of_content_prints_as_it_is(sqlgw, capsys):
    ddl = "CREATE TABLE `t` (\n  `a` INT\n) WITH (\n  'connector' = 'datagen'\n)\n"
    sqlgw.plans["SHOW CREATE TABLE t"] = content(["result"], [[ddl]])
    code, out, _ = sql(capsys, sqlgw, "-e", "SHOW CREATE TABLE t")
    assert (code, out) == (0, ddl + "\n")


def test_max_rows_stops_fetching_and_closes_the_operation(sqlgw, capsys):
    sqlgw.plans["SELECT * FROM endless"] = query(
        [("n", BIGINT)], [("INSERT", [1]), ("INSERT", [2])], [("INSERT", [3]), ("INSERT", [4])], "NOT_READY")
    code, out, err = sql(capsys, sqlgw, "--max-rows", "3", "-e", "SELECT * FROM endless")
    assert code == 0, err
    assert out.splitlines() == ["n", "-", "1", "2", "3", "3 rows (fetching stopped at --max-rows 3)"]
    [operation] = sqlgw.operations.values()
    assert operation["closed"] and operation["page"] == 2  # the page after was never asked for
    code, out, _ = sql(capsys, sqlgw, "--output", "json", "--max-rows", "2", "-e", "SELECT * FROM endless")
    assert json.loads(out)["statements"][0]["truncated"] is True


def test_the_job_link_without_urls_is_where_flink_swarm_ui_serves_it(sqlgw, capsys, stack):
    jid = uuid.uuid4().hex
    sqlgw.plans["INSERT INTO t VALUES (1)"] = job(jid)
    stack.use(flinkSqlGateway={"node": JM, "port": 8083, "url": sqlgw.url})
    code, out, err = cli(capsys, "sql", "-e", "INSERT INTO t VALUES (1)")
    assert code == 0, err
    assert out.splitlines() == [f"job {jid}", f"http://127.0.0.1:8081/#/job/running/{jid}/overview"]


def test_a_job_without_a_stack_to_say_where_its_page_is(sqlgw, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi
    jid = uuid.uuid4().hex
    sqlgw.plans["INSERT INTO t VALUES (1)"] = job(jid)
    code, out, err = cli(capsys, "--gateway-url", sqlgw.url, "--output", "json", "sql", "-e", "INSERT INTO t VALUES (1)")
    assert code == 0, err
    assert json.loads(out)["statements"] == [{"statement": "INSERT INTO t VALUES (1)", "kind": "job", "job_id": jid,
                                             "url": None}]


# errors, timeouts, Ctrl-C: the session is closed whatever happens ----------------------------------------


def test_a_refused_statement_stops_the_run_with_flinks_root_cause(sqlgw, capsys):
    sqlgw.plans["SELECT * FROM nope"] = {"error": NOT_FOUND}
    code, out, err = sql(capsys, sqlgw, "-e", "CREATE TABLE t (a INT);\nSELECT * FROM nope;\nDROP TABLE t")
    assert (code, out) == (1, "OK\n")  # the statement before it ran, and printed as it ended
    assert err == ("flink-swarm: statement 2 (SELECT * FROM nope) failed: SqlValidatorException: Object 'nope' not "
                   "found (--verbose: the full text)\n")
    assert sqlgw.statements() == ["CREATE TABLE t (a INT)", "SELECT * FROM nope"]  # not the one after it
    assert all(s["closed"] for s in sqlgw.sessions.values())


def test_verbose_and_json_errors_carry_the_gateways_whole_text(sqlgw, capsys):
    sqlgw.plans["SELECT * FROM nope"] = {"error": NOT_FOUND}
    code, out, err = sql(capsys, sqlgw, "-v", "--output", "json", "-e", "SET 'a' = 'b'; SELECT * FROM nope")
    assert code == 1
    first, *rest = err.splitlines()
    assert first == "flink-swarm: statement 2 (SELECT * FROM nope) failed: SqlValidatorException: Object 'nope' not found"
    assert "\n".join(rest) == "\n".join(NOT_FOUND)
    [session] = sqlgw.sessions
    answer = json.loads(out)
    assert answer["session"] == session and answer["statements"] == [{"statement": "SET 'a' = 'b'", "kind": "ok"}]
    assert answer["error"] == first.removeprefix("flink-swarm: ") and answer["exit_code"] == 1
    assert answer["trace"] == "\n".join(NOT_FOUND)


def test_a_statement_that_does_not_end_times_out_with_124(sqlgw, capsys):
    sqlgw.plans["SELECT * FROM forever"] = {"endless": True}
    started = time.monotonic()
    code, out, err = sql(capsys, sqlgw, "--timeout", "0.3", "-e", "SET 'a' = 'b'; SELECT * FROM forever; SET 'c' = 'd'")
    assert (code, out) == (124, "OK\n")
    assert err == "flink-swarm: statement 2 (SELECT * FROM forever) did not end within 0.3 s (--timeout)\n"
    assert time.monotonic() - started < 5
    assert [op["closed"] for op in sqlgw.operations.values()] == [False, True]  # the one given up on is closed
    assert all(s["closed"] for s in sqlgw.sessions.values())


def test_ctrl_c_closes_the_session(sqlgw):
    sqlgw.plans["SELECT * FROM forever"] = {"endless": True}
    command = Path(sysconfig.get_path("scripts")) / "flink-swarm"
    proc = subprocess.Popen([str(command), "--gateway-url", sqlgw.url, "--url", FLINK_UI, "sql", "-e",
                             "SELECT * FROM forever"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    try:
        assert sqlgw.fetching.wait(30), proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130
    finally:
        proc.kill()
    assert proc.stderr.read() == "flink-swarm: interrupted\n"
    [session] = sqlgw.sessions.values()
    assert session["closed"]


def test_a_session_that_cannot_be_closed_is_said_without_hiding_the_result(sqlgw, capsys, monkeypatch):
    def refuse(*_):
        raise gateway.Refused("Flink's SQL gateway refused DELETE /v1/sessions/x (HTTP 500): gone")
    monkeypatch.setattr(gateway, "close_session", refuse)
    code, out, err = sql(capsys, sqlgw, "-e", "SET 'a' = 'b'")
    assert (code, out) == (0, "OK\n")
    assert err.startswith("flink-swarm: could not close the SQL gateway's session ")
    assert err.endswith("(it ends by itself once idle for sql-gateway.session.idle-timeout): Flink's SQL gateway "
                        "refused DELETE /v1/sessions/x (HTTP 500): gone\n")


def test_a_gateway_that_is_not_there(capsys):
    code, out, err = cli(capsys, "--gateway-url", "http://127.0.0.1:9", "sql", "-e", "SELECT 1")
    assert (code, out) == (1, "")
    assert err.startswith("flink-swarm: cannot reach Flink's SQL gateway at http://127.0.0.1:9: ")


# the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["sql"], "sql takes a FILE.sql or -e STATEMENT (one of them)"),
    (["sql", "a.sql", "-e", "SELECT 1"], "sql takes a FILE.sql or -e STATEMENT (one of them)"),
    (["sql", "-e", "SELECT 1", "--max-rows", "0"], "argument --max-rows: '0' is not a number of rows: give 1 or more"),
    (["sql", "-e", "SELECT 1", "--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
])
def test_usage(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_gateway_url_before_or_after_the_command_word(sqlgw, capsys):
    for argv in (["--gateway-url", sqlgw.url, "sql"], ["sql", "--gateway-url", sqlgw.url]):
        assert cli(capsys, *argv, "-e", "SET 'a' = 'b'")[:2] == (0, "OK\n")
    assert len(sqlgw.sessions) == 2


def test_a_script_from_stdin(sqlgw, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(read=lambda: "SET 'a' = 'b';\nSET 'c' = 'd';\n"))
    assert sql(capsys, sqlgw, "-")[:2] == (0, "OK\nOK\n")


@pytest.mark.parametrize("argv, message", [
    (["-e", " -- nothing\n;"], "-e has no statement (only spaces and comments): give statements separated by ;"),
    (["nowhere.sql"], "cannot read nowhere.sql: No such file or directory"),
])
def test_nothing_to_run_is_refused_before_any_session(sqlgw, capsys, argv, message):
    code, _, err = sql(capsys, sqlgw, *argv)
    assert (code, err) == (1, f"flink-swarm: {message}\n")
    assert not sqlgw.calls


# the stack: its output flinkSqlGateway, reached directly or through an SSH tunnel ------------------------

FAKE_SSH = """import json, os, socket, subprocess, sys, threading
# ssh as the job CLI runs it: options, `--`, the host, then a remote command (run by sh, as the node's
# login shell would) or, with -N -L, a tunnel to FAKE_FORWARD[<the node's loopback port>].
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["ssh", *argv]) + "\\n")
end = argv.index("--")
options, host, command = argv[:end], argv[end + 1], argv[end + 2:]
if os.environ.get("FAKE_SSH_FAIL"):
    sys.exit(f"flink@{host}: Permission denied (publickey).")
if "-N" not in options:
    assert len(command) == 1, command
    sys.exit(subprocess.run(["sh", "-c", command[0]], check=False).returncode)
bind, port, to_host, to_port = options[options.index("-L") + 1].split(":")
assert (bind, to_host) == ("127.0.0.1", "127.0.0.1"), options  # the node's own loopback
node_host, node_port = json.loads(os.environ["FAKE_FORWARD"])[to_port].rsplit(":", 1)
server = socket.create_server((bind, int(port)))


def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


while True:
    client, _ = server.accept()
    upstream = socket.create_connection((node_host, int(node_port)))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
"""
OUTPUTS = {
    "nodes": [{"name": "azure-swarm-manager", "role": "manager"}, {"name": JM, "role": "jobmanager"},
              {"name": "azure-swarm-worker-1", "role": "worker"}],
    "ssh": {"azure-swarm-manager": {"host": "203.0.113.5", "port": 22, "user": "flink"},
            JM: {"host": "203.0.113.7", "port": 2222, "user": "flink"},
            "azure-swarm-worker-1": {"host": "203.0.113.21", "port": 22, "user": "flink"}},
    "dockerHost": "ssh://flink@203.0.113.5:22",
    "sshIdentity": {"stack": "dev", "agent": False},
    "flinkRest": {"node": JM, "port": 8081, "url": None},
    "flinkSqlGateway": {"node": JM, "port": 8083, "url": None},
    "spark": {"node": JM, "service": "spark-master", "master": "spark://spark-master:7077", "uiPort": 8080,
              "url": None},
}


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """A fake pulumi (the stack's outputs: `use(**changed)`) and ssh (`forward(port, server)`: what answers
    on the nodes' loopback port) on PATH, with these fakes' calls in `calls()`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "pulumi", FAKE_PULUMI)
    executable(bin_dir / "ssh", FAKE_SSH)
    log = tmp_path / "calls.jsonl"
    monkeypatch.delenv("FLINK_SWARM_KEY_DIR", raising=False)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_LOG": str(log),
           "FAKE_OUTPUTS": json.dumps(OUTPUTS), "FAKE_FORWARD": "{}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    forwards: dict[str, str] = {}

    def forward(port: int, server) -> None:
        forwards[str(port)] = f"127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("FAKE_FORWARD", json.dumps(forwards))

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return SimpleNamespace(use=lambda **changed: monkeypatch.setenv("FAKE_OUTPUTS", json.dumps({**OUTPUTS, **changed})),
                           forward=forward, calls=calls, bin=bin_dir, home=tmp_path)


def test_the_stacks_gateway_through_an_ssh_tunnel_to_its_node(sqlgw, stack, capsys):
    stack.forward(8083, sqlgw)
    code, out, err = cli(capsys, "--stack", "dev", "sql", "-e", "SET 'a' = 'b'")
    assert (code, out) == (0, "OK\n"), err
    pulumi, ssh = stack.calls()
    assert pulumi == ["pulumi", "stack", "output", "--json", "--stack", "dev"]
    port = int(ssh[ssh.index("-L") + 1].split(":")[1])
    assert ssh == ["ssh", *ssh_options(stack.home), "-N", "-o", "ExitOnForwardFailure=yes", "-o",
                   "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3", "-L", f"127.0.0.1:{port}:127.0.0.1:8083",
                   "-p", "2222", "-l", "flink", "--", "203.0.113.7"]
    from flink_swarm_cli.tunnel import listening
    assert not listening(port)  # closed with the command
    assert all(s["closed"] for s in sqlgw.sessions.values())


def test_a_local_stacks_gateway_is_reached_directly(sqlgw, stack, capsys):
    stack.use(flinkSqlGateway={"node": "local-jobmanager", "port": 8083, "url": sqlgw.url})
    assert cli(capsys, "sql", "-e", "SET 'a' = 'b'")[:2] == (0, "OK\n")
    assert [c[0] for c in stack.calls()] == ["pulumi"]


def test_a_stack_without_the_gateway_says_how_to_turn_it_on(stack, capsys):
    stack.use(flinkSqlGateway=None)
    code, out, err = cli(capsys, "sql", "-e", "SELECT 1")
    assert (code, out) == (1, "")
    assert err == ("flink-swarm: the stack runs no SQL gateway (its output `flinkSqlGateway` is null): turn it on "
                   "with `pulumi config set --path flink-swarm:flink.sqlGateway true` and `pulumi up`, or give one "
                   "with --gateway-url\n")
    assert [c[0] for c in stack.calls()] == ["pulumi"]


def test_an_older_stack_without_the_output(stack, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_OUTPUTS", json.dumps({k: v for k, v in OUTPUTS.items() if k != "flinkSqlGateway"}))
    code, _, err = cli(capsys, "sql", "-e", "SELECT 1")
    assert code == 1
    assert err == ("flink-swarm: the stack's output `flinkSqlGateway` has none: is the stack deployed with this "
                   "version of the program (`pulumi up`)? (or give the gateway with --gateway-url)\n")


def test_gateway_url_needs_no_stack(sqlgw, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi, no ssh
    assert cli(capsys, "--url", FLINK_UI, "sql", "--gateway-url", sqlgw.url, "-e", "SET 'a' = 'b'")[:2] == (0, "OK\n")
