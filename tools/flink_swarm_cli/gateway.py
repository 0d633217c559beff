"""Flink's SQL gateway through its REST endpoint (Flink docs "SQL Gateway > REST Endpoint"), API version
v1, which Flink 1.20's gateway serves beside v2 and v3 with the same sessions, statements and results:

    POST   /v1/sessions                                    -> {"sessionHandle"}
    POST   /v1/sessions/<session>/statements               {"statement"} -> {"operationHandle"}
    GET    /v1/sessions/<session>/operations/<op>/result/<token>?rowFormat=JSON, then each nextResultUri
    DELETE /v1/sessions/<session>/operations/<op>/close     (ends the operation, and its query's job)
    DELETE /v1/sessions/<session>                          (ends the session and its operations)

The handlers and messages cited are flink-table/flink-sql-gateway/src/main/java/org/apache/flink/table/
gateway/rest/ (below: .../rest/) in Flink's sources. A refusal is an ErrorResponseBody, as Flink's REST
API answers one: a statement that fails (a parse or validation error, a missing table) fails its
operation, and fetching that operation's result answers HTTP 500 with the operation's error as the last
"Caused by" of the trace (OperationManager: "Failed to execute the operation ...").
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field as dataclass_field

from .errors import Refused, TimedOut
from .rest import Rest, field, segment

WHO = "Flink's SQL gateway"
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 1.0  # seconds between fetches that bring nothing new
# RowKind (flink-core/src/main/java/org/apache/flink/types/RowKind.java): a changelog's rows
ADDS, REMOVES = ("INSERT", "UPDATE_AFTER"), ("UPDATE_BEFORE", "DELETE")


@dataclass
class Result:
    """A statement's result: what kind it is, its columns, its rows (a changelog materialised)."""

    kind: str = "ok"  # "ok" (no job: SET, CREATE, SHOW, ...), "job" (INSERT: a job submitted), "rows" (a query)
    columns: list[str] = dataclass_field(default_factory=list)
    rows: list[list] = dataclass_field(default_factory=list)
    job_id: str | None = None
    content: bool = False  # resultKind SUCCESS_WITH_CONTENT: a table to show (SHOW TABLES), not only "OK"
    fetched: int = 0  # the rows (changes) fetched
    truncated: bool = False  # the fetching stopped at --max-rows


def open_session(rest: Rest) -> str:
    # OpenSessionHeaders (.../rest/header/session/OpenSessionHeaders.java: POST /sessions),
    # OpenSessionRequestBody "sessionName", "properties"; OpenSessionResponseBody "sessionHandle"
    answer = rest.post("/v1/sessions", {"sessionName": "flink-swarm sql"})
    return str(field(answer, "sessionHandle", "POST /v1/sessions", WHO))


def close_session(rest: Rest, session: str) -> None:
    # CloseSessionHeaders (.../rest/header/session/CloseSessionHeaders.java: DELETE /sessions/:session_handle)
    rest.call("DELETE", f"/v1/sessions/{segment(session)}")


def execute(rest: Rest, session: str, statement: str) -> str:
    """Submit a statement; its operation's handle. The gateway runs it asynchronously: its errors come
    with its result."""
    # ExecuteStatementHeaders (.../rest/header/statement/ExecuteStatementHeaders.java: POST
    # /sessions/:session_handle/statements); .../rest/message/statement/ExecuteStatementRequestBody.java
    # "statement" (and the optional "executionTimeout", "executionConfig"); ExecuteStatementResponseBody.java
    # "operationHandle"
    call = f"/v1/sessions/{segment(session)}/statements"
    return str(field(rest.post(call, {"statement": statement}), "operationHandle", f"POST {call}", WHO))


def close_operation(rest: Rest, session: str, operation: str) -> None:
    """End an operation whose result is no longer read (a query's job is cancelled with it). A refusal is
    let be: closing the session at the end closes its operations too."""
    # CloseOperationHeaders (.../rest/header/operation/CloseOperationHeaders.java: DELETE
    # /sessions/:session_handle/operations/:operation_handle/close)
    try:
        rest.call("DELETE", f"/v1/sessions/{segment(session)}/operations/{segment(operation)}/close")
    except Refused:
        pass


def first_uri(session: str, operation: str) -> str:
    # FetchResultsHeaders (.../rest/header/statement/FetchResultsHeaders.java: GET /sessions/:session_handle/
    # operations/:operation_handle/result/:token); rowFormat JSON (FetchResultsRowFormatQueryParameter), the
    # handler's default too (FetchResultsHandler), so v1, which declares no such parameter, answers the same
    return f"/v1/sessions/{segment(session)}/operations/{segment(operation)}/result/0?rowFormat=JSON"


def apply(result: Result, kind: str, fields: list) -> None:
    """One row of a changelog into the materialised table, as Flink's SQL client does in its table mode
    (flink-table/flink-sql-client/src/main/java/org/apache/flink/table/client/gateway/result/
    MaterializedCollectStreamResult.java, processRecord and processDelete): INSERT and UPDATE_AFTER add
    the row; UPDATE_BEFORE and DELETE remove the newest equal row."""
    if kind in REMOVES:
        for i in range(len(result.rows) - 1, -1, -1):
            if result.rows[i] == fields:
                del result.rows[i]
                return
        return
    result.rows.append(fields)


def take(result: Result, answer: dict, max_rows: int) -> None:
    """What a PAYLOAD or EOS answer brings, into `result`; it stops taking rows at `max_rows` (a query's)."""
    # FetchResultsResponseBody (.../rest/message/statement/FetchResultsResponseBody.java), as .../rest/serde/
    # FetchResultsResponseBodySerializer.java writes it (FIELD_* l.35-40 and serialize() in the copy read):
    # "resultType" (NOT_READY, PAYLOAD, EOS), then, unless NOT_READY, "isQueryResult", "jobID" (when a job
    # runs it), "resultKind" (SUCCESS, SUCCESS_WITH_CONTENT) and "results"; "nextResultUri" until the end.
    # "results" (ResultInfoSerializer.java FIELD_NAME_* l.51-59): "columns" [ColumnInfo.java l.38-40: "name",
    # "logicalType", "comment"], "rowFormat", "data" [{"kind": RowKind, "fields": [...]}]
    results = answer.get("results") or {}
    result.columns = [str(c.get("name")) for c in results.get("columns") or []] or result.columns
    result.job_id = answer.get("jobID") or result.job_id
    result.content = answer.get("resultKind") == "SUCCESS_WITH_CONTENT"
    query = bool(answer.get("isQueryResult"))
    result.kind = "rows" if query else "job" if result.job_id else "ok"
    for row in results.get("data") or []:
        if query and result.fetched >= max_rows:
            result.truncated = True
            return
        apply(result, str(row.get("kind", "INSERT")), list(row.get("fields") or []))
        result.fetched += 1


def fetch(rest: Rest, session: str, operation: str, max_rows: int, timeout: float) -> Result:
    """The operation's result: fetched until the end (EOS), or `max_rows` rows of a query (then the
    operation is closed); TimedOut, the operation closed, after `timeout` seconds."""
    result, uri, pause = Result(), first_uri(session, operation), FIRST_PAUSE
    deadline = time.monotonic() + timeout
    while uri:
        if not uri.startswith("/"):
            raise Refused(f"{WHO} gave a nextResultUri that is no path of its own: {uri[:200]!r}")
        answer = rest.get(uri)
        kind, before = answer.get("resultType"), result.fetched
        if kind not in ("NOT_READY", "PAYLOAD", "EOS"):
            raise Refused(f"GET {uri}: {WHO}'s answer has no resultType NOT_READY, PAYLOAD or EOS: {str(answer)[:300]}")
        if kind != "NOT_READY":
            take(result, answer, max_rows)
        uri = answer.get("nextResultUri") if kind != "EOS" else None
        if uri and result.kind == "rows" and result.fetched >= max_rows:
            result.truncated = True
        if result.truncated:
            close_operation(rest, session, operation)
            return result
        if uri and time.monotonic() + (pause if result.fetched == before else 0) > deadline:
            close_operation(rest, session, operation)
            raise TimedOut(f"did not end within {timeout:g} s (--timeout)")
        if uri and result.fetched == before:  # nothing new yet: ask again a little later
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
        else:
            pause = FIRST_PAUSE
    return result
