"""The REST calls behind the commands, checked against Flink 1.20's sources (flink-runtime and
flink-runtime-web); the field names that differ from one endpoint to another are cited where used."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

from .errors import Refused, TimedOut, root_cause, shorten
from .rest import Rest, field, segment

POLL_SECONDS = 1.0
# JobStatus (flink-core/src/main/java/org/apache/flink/api/common/JobStatus.java): FINISHED, CANCELED
# and FAILED are TerminalState.GLOBALLY; SUSPENDED is only LOCALLY terminal (another jobmanager, with
# HA, takes the job over), so a wait goes on through it.
TERMINAL = ("FINISHED", "CANCELED", "FAILED")


def slots_total(rest: Rest) -> int:
    # GET /overview: ClusterOverviewWithVersion, a ClusterOverview (flink-runtime/src/main/java/org/
    # apache/flink/runtime/messages/webmonitor/ClusterOverview.java:39 FIELD_NAME_SLOTS_TOTAL
    # "slots-total"): the slots of the taskmanagers registered now.
    return int(field(rest.get("/overview"), "slots-total", "GET /overview"))


def check_parallelism(rest: Rest, parallelism: int) -> None:
    """Refuse, before anything is uploaded, a parallelism the cluster cannot give: such a job waits for
    slots (slot.request.timeout, 5 min), fails and restarts for ever."""
    if parallelism < 1:
        raise Refused(f"--parallelism {parallelism}: give 1 or more")
    slots = slots_total(rest)
    if slots == 0:
        raise Refused(f"--parallelism {parallelism}: the cluster has no task slots (GET /overview: slots-total "
                      "0, no taskmanager registered); wait for its taskmanagers")
    if parallelism > slots:
        raise Refused(f"--parallelism {parallelism} is more than the cluster's {slots} task slots "
                      "(GET /overview: slots-total), so the job would wait for slots and restart for ever: "
                      f"give --parallelism {slots} or less, or add task slots (flink-swarm:flink.taskSlots "
                      "per taskmanager, or more workers in the topology)")


def upload_jar(rest: Rest, jar: Path) -> str:
    """Upload the jar; its jar id (for /jars/:jarid/run)."""
    try:
        content = jar.read_bytes()
    except OSError as err:
        raise Refused(f"cannot read the jar: {err}") from None
    # POST /jars/upload takes the jar as the one file part of a multipart body: Flink's
    # FileUploadHandler keeps any file part, JarUploadHandler refuses anything but exactly one file
    # whose name ends in ".jar" ("Only Jar files are allowed."), and stores it as <uuid>_<name>;
    # "jarfile" is the part name of Flink's own example (JarUploadHeaders#getDescription), and the
    # name is kept to safe characters, as it becomes the jar id in the /jars/:jarid/run path.
    name = re.sub(r"[^A-Za-z0-9._-]", "_", jar.name)
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="{name}"\r\n'
            "Content-Type: application/x-java-archive\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    uploaded = rest.call("POST", "/jars/upload", body, f"multipart/form-data; boundary={boundary}")
    # JarUploadResponseBody "filename" is the stored jar's path (JarUploadHandler:
    # jarDir.resolve(UUID.randomUUID() + "_" + name)); its base name is the jar id.
    return str(field(uploaded, "filename", "POST /jars/upload")).rsplit("/", 1)[-1]


def run_jar(rest: Rest, jar_id: str, args: list[str], entry_class: str | None = None,
            parallelism: int | None = None, savepoint: str | None = None,
            allow_non_restored_state: bool = False) -> str:
    """Run an uploaded jar; the job id."""
    # JarRunRequestBody: flink-runtime-web/src/main/java/org/apache/flink/runtime/webmonitor/handlers/
    # JarRequestBody.java FIELD_NAME_ENTRY_CLASS "entryClass", FIELD_NAME_PROGRAM_ARGUMENTS_LIST
    # "programArgsList" (a List<String>; "programArgs", one string, is deprecated), FIELD_NAME_PARALLELISM
    # "parallelism" (an Integer) (l.41-44 in the copy read), JarRunRequestBody.java
    # FIELD_NAME_ALLOW_NON_RESTORED_STATE "allowNonRestoredState", FIELD_NAME_SAVEPOINT_PATH
    # "savepointPath" (l.40-42). The strict mapper (RestMapperUtils) refuses unknown fields: 400.
    request: dict = {"programArgsList": args}
    if entry_class:
        request["entryClass"] = entry_class
    if parallelism is not None:
        request["parallelism"] = parallelism
    if savepoint:
        request["savepointPath"] = savepoint
    if allow_non_restored_state:
        request["allowNonRestoredState"] = True
    call = f"/jars/{segment(jar_id)}/run"
    # JarRunResponseBody: {"jobid": ...}
    return field(rest.post(call, request), "jobid", f"POST {call}")


def overview(rest: Rest) -> list[dict]:
    """The jobs, newest first."""
    # GET /jobs/overview: MultipleJobsDetails {"jobs": [JobDetails: "jid", "name", "state",
    # "start-time", ...]} (flink-runtime/.../runtime/messages/webmonitor/JobDetails.java)
    jobs = field(rest.get("/jobs/overview"), "jobs", "GET /jobs/overview")
    return sorted(jobs, key=lambda j: -j.get("start-time", 0))


def details(rest: Rest, job_id: str) -> dict:
    # GET /jobs/:jobid: JobDetailsInfo (flink-runtime/src/main/java/org/apache/flink/runtime/rest/
    # messages/job/JobDetailsInfo.java: "jid", "name", "state", "start-time", "end-time", "duration",
    # "vertices" [JobVertexDetailsInfo: "name", "parallelism", "status", ...])
    answer = rest.get(f"/jobs/{segment(job_id)}")
    field(answer, "state", f"GET /jobs/{job_id}")
    return answer


def last_failure(rest: Rest, job_id: str) -> tuple[str, str] | None:
    """(the root cause in one line, the full trace) of the job's latest failure; None if it never failed."""
    # GET /jobs/:jobid/exceptions: JobExceptionsInfoWithHistory (flink-runtime/src/main/java/org/apache/
    # flink/runtime/rest/messages/JobExceptionsInfoWithHistory.java:46 "exceptionHistory": {"entries":
    # [RootExceptionInfo: "exceptionName", "stacktrace", "timestamp", ...]}, newest first); its
    # deprecated "root-exception" (JobExceptionsInfo) when there is no history.
    answer = rest.get(f"/jobs/{segment(job_id)}/exceptions")
    entries = (answer.get("exceptionHistory") or {}).get("entries") or []
    trace = entries[0].get("stacktrace") if entries else answer.get("root-exception")
    if not trace:
        return None
    return root_cause(trace) or shorten(trace.splitlines()[0]), trace


def cancel(rest: Rest, job_id: str) -> None:
    # PATCH /jobs/:jobid?mode=cancel, 202 Accepted with {} (JobCancellationHeaders,
    # TerminationModeQueryParameter "mode")
    rest.call("PATCH", f"/jobs/{segment(job_id)}?mode=cancel")


def wait_job(rest: Rest, job_id: str, timeout: float | None) -> dict:
    """Poll GET /jobs/:jobid until the job is in a globally terminal state; its details.
    TimedOut (with the state it is in) after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        answer = details(rest, job_id)
        if answer["state"] in TERMINAL:
            return answer
        if deadline is not None and time.monotonic() >= deadline:
            raise TimedOut(f"job {job_id} is still {answer['state']} after {timeout:g}s")
        time.sleep(POLL_SECONDS)


def trigger_savepoint(rest: Rest, job_id: str, directory: str | None) -> str:
    """Trigger a savepoint; the trigger id."""
    # POST /jobs/:jobid/savepoints, SavepointTriggerRequestBody (flink-runtime/src/main/java/org/
    # apache/flink/runtime/rest/messages/job/savepoints/SavepointTriggerRequestBody.java
    # FIELD_NAME_TARGET_DIRECTORY, FIELD_NAME_CANCEL_JOB, l.35,37 in the copy read): kebab-case
    # "target-directory" and "cancel-job". Without a directory both this and stop fall back to
    # state.savepoints.dir, and refuse (400) when it is not set (rest/handler/job/savepoints/
    # SavepointHandlers.java: "Config key [%s] is not set. Property [%s] must be provided.").
    call, body = f"/jobs/{segment(job_id)}/savepoints", {"cancel-job": False}
    if directory:
        body["target-directory"] = directory
    # TriggerResponse (flink-runtime/.../rest/handler/async/TriggerResponse.java:30): "request-id"
    return field(rest.post(call, body), "request-id", f"POST {call}")


def trigger_stop(rest: Rest, job_id: str, directory: str | None, drain: bool) -> str:
    """Trigger stop-with-savepoint (as `flink stop` does); the trigger id."""
    # POST /jobs/:jobid/stop, StopWithSavepointRequestBody (flink-runtime/src/main/java/org/apache/
    # flink/runtime/rest/messages/job/savepoints/stop/StopWithSavepointRequestBody.java
    # FIELD_NAME_TARGET_DIRECTORY, FIELD_NAME_DRAIN, l.36,40 in the copy read): camelCase
    # "targetDirectory" and "drain".
    call, body = f"/jobs/{segment(job_id)}/stop", {"drain": drain}
    if directory:
        body["targetDirectory"] = directory
    return field(rest.post(call, body), "request-id", f"POST {call}")


def wait_savepoint(rest: Rest, job_id: str, trigger: str, timeout: float) -> str:
    """Poll GET /jobs/:jobid/savepoints/:triggerid (stop-with-savepoint too) until COMPLETED; the location.

    AsynchronousOperationResult (flink-runtime/.../rest/handler/async/AsynchronousOperationResult.java,
    "status" and "operation", l.37,39 in the copy read): {"status": {"id": "IN_PROGRESS" | "COMPLETED"},
    "operation": SavepointInfo}; SavepointInfo (flink-runtime/.../rest/messages/job/savepoints/
    SavepointInfo.java, l.42,44) has either "location" or "failure-cause", a SerializedThrowable
    (rest/messages/json/SerializedThrowableSerializer.java: "class", "stack-trace", ...)."""
    call = f"/jobs/{segment(job_id)}/savepoints/{segment(trigger)}"
    deadline = time.monotonic() + timeout
    while True:
        answer = rest.get(call)
        status = (answer.get("status") or {}).get("id")
        if status == "COMPLETED":
            operation = answer.get("operation") or {}
            if operation.get("failure-cause"):
                raise savepoint_failed(job_id, operation["failure-cause"])
            return str(field(operation, "location", f"GET {call}"))
        if status != "IN_PROGRESS":
            raise Refused(f"GET {call}: unexpected answer {json.dumps(answer)[:300]}")
        if time.monotonic() >= deadline:
            raise TimedOut(f"the savepoint of job {job_id} did not complete in {timeout:g}s "
                           f"(trigger {trigger}; it may still complete: GET {rest.url}{call})")
        time.sleep(POLL_SECONDS)


def savepoint_failed(job_id: str, cause) -> Refused:
    """The savepoint's failure-cause (a SerializedThrowable) as its root cause in one line."""
    if isinstance(cause, dict):
        trace = str(cause.get("stack-trace") or cause.get("class") or json.dumps(cause))
    else:
        trace = str(cause)
    line = root_cause(trace) or shorten(trace.splitlines()[0] if trace.strip() else "(no cause given)")
    return Refused(f"the savepoint of job {job_id} failed: {line}", trace=trace)
