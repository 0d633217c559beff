"""The commands: each takes the cluster and the parsed arguments and returns an Outcome, what it
prints as text and as JSON (`--output json`) and its exit code.

JSON (times are Flink's, milliseconds since the epoch; `url` is the job's page in the web UI, through
`flink-swarm ui`'s default local port when the cluster is reached over SSH):
    run        {"job_id", "url"}
    list       {"jobs": [{"job_id", "name", "state", "start_time", "end_time", "url"}]}   newest first
    describe   {"job_id", "name", "state", "start_time", "end_time", "duration_ms",
                "vertices": [{"name", "parallelism", "status"}], "last_failure": str | null, "url"}
    wait       {"job_id", "state", "finished": bool, "root_cause": str | null, "url"}
    cancel     {"job_id", "url"}
    savepoint  {"job_id", "savepoint", "url"}
    stop       {"job_id", "savepoint", "stopped": true, "url"}
    ui         {"url", "tunnel": bool, "node": str | null}   printed once the tunnel listens
    logs, shell  nothing of their own: the remote command's output as it comes, its exit code
    sql        {"session", "statements": [{"statement", "kind": "ok" | "job" | "rows",
                "job_id", "url"                  (a job: an INSERT; url null when no stack says where)
                "columns", "rows", "truncated"}]}  (a query, its changelog materialised; a SHOW's table
               without "truncated"); at the end, or beside the error when a statement fails
    spark submit  {"app_id": str | null, "url": str | null, "exit_code"}   after the driver's output (all of
                  it on stderr with --output json); url: the application's page in the master's UI
    spark list    {"apps": [{"app_id", "name", "state", "cores", "memory_per_executor_mb", "start_time",
                   "duration_ms", "url"}], "workers": [{"id", "host", "state", "cores", "cores_used",
                   "memory_mb", "memory_used_mb"}]}   apps newest first (times: Spark's, ms)
    spark kill    {"app_id", "state", "killed": bool, "url"}   (killed false: it had already ended)
    spark ui      as ui
    (error)    {"error", "trace": str | null, "exit_code"}
"""
from __future__ import annotations

import argparse
import time
from typing import Callable

from . import jobs, python_job, remote, spark, sql
from .cluster import Cluster, Outcome, serve
from .stack import flink_rest, identity, ssh_target

def submitted(cluster: Cluster, job_id: str, **more) -> dict:
    return {"job_id": job_id, **more, "url": cluster.page(job_id)}


def run(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    if args.python:
        job_id = run_python(cluster, args)
    else:
        rest = cluster.rest()
        if args.parallelism is not None:
            jobs.check_parallelism(rest, args.parallelism)
        jar_id = jobs.upload_jar(rest, args.jar)
        job_id = jobs.run_jar(rest, jar_id, args.args, args.entry_class, args.parallelism, args.savepoint,
                              args.allow_non_restored_state)
    data = submitted(cluster, job_id)
    return Outcome(data, f"job {job_id}\n{data['url']}")


def run_python(cluster: Cluster, args: argparse.Namespace) -> str:
    """A PyFlink job, over SSH: it needs the stack's outputs, even with --url."""
    stack_outputs = cluster.ssh_outputs(f"{args.python_word} copies the job to the jobmanager's node")
    target = ssh_target(stack_outputs, flink_rest(stack_outputs).node)
    ssh_identity = identity(stack_outputs)
    if args.parallelism is not None:
        jobs.check_parallelism(cluster.rest(), args.parallelism)
    return python_job.submit(target, ssh_identity, args.python, args.args, args.parallelism)


def list_jobs(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    found = jobs.overview(rest)
    data = [submitted(cluster, j["jid"], name=j.get("name"), state=j.get("state"), start_time=j.get("start-time"),
                      end_time=j.get("end-time")) for j in found]
    text = "\n".join(f"{j['jid']}  {j.get('state') or '-':<12} {j.get('name') or '-'}" for j in found) or "no jobs"
    return Outcome({"jobs": data}, text)


def describe(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    info = jobs.details(rest, args.job_id)
    failure = jobs.last_failure(rest, args.job_id)
    vertices = [{"name": v.get("name"), "parallelism": v.get("parallelism"), "status": v.get("status")}
                for v in info.get("vertices") or []]
    data = submitted(cluster, args.job_id, name=info.get("name"), state=info.get("state"),
                     start_time=info.get("start-time"), end_time=info.get("end-time"),
                     duration_ms=info.get("duration"), vertices=vertices,
                     last_failure=failure[0] if failure else None)
    lines = [f"job {args.job_id}  {data['name']}", f"state     {data['state']}",
             f"started   {clock(data['start_time'])}  (for {duration(data['duration_ms'])})"]
    lines += [f"{'tasks' if i == 0 else '':<9} {v['status'] or '-':<12} parallelism {v['parallelism']}  {v['name']}"
              for i, v in enumerate(vertices)]
    if failure:
        lines.append(f"failure   {failure[0]}")
    return Outcome(data, "\n".join([*lines, data["url"]]))


def wait(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    state = jobs.wait_job(rest, args.job_id, args.timeout)["state"]
    cause = jobs.last_failure(rest, args.job_id) if state == "FAILED" else None
    data = submitted(cluster, args.job_id, state=state, finished=state == "FINISHED",
                     root_cause=cause[0] if cause else None)
    text = f"job {args.job_id} {state}" + (f": {cause[0]}" if cause else "")
    return Outcome(data, text, 0 if state == "FINISHED" else 1)


def cancel(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    jobs.cancel(rest, args.job_id)
    data = submitted(cluster, args.job_id)
    return Outcome(data, f"cancelling job {args.job_id}\n{data['url']}")


def savepoint(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    trigger = jobs.trigger_savepoint(rest, args.job_id, args.dir)
    location = jobs.wait_savepoint(rest, args.job_id, trigger, args.timeout)
    data = submitted(cluster, args.job_id, savepoint=location)
    return Outcome(data, f"savepoint {location}\njob {args.job_id}\n{data['url']}")


def stop(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    rest = cluster.rest()
    trigger = jobs.trigger_stop(rest, args.job_id, args.savepoint_dir, args.drain)
    location = jobs.wait_savepoint(rest, args.job_id, trigger, args.timeout)
    data = submitted(cluster, args.job_id, savepoint=location, stopped=True)
    return Outcome(data, f"savepoint {location}\nstopped job {args.job_id}\n{data['url']}")


def ui(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    """Flink's web UI and REST API at a local URL: an SSH tunnel to the jobmanager's node, kept open
    until Ctrl-C (a local stack's URL, or --url, is only printed)."""
    url = cluster.url(args.port)
    return serve(args, url, cluster.tunnel, "Flink's UI and REST API")


def logs(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    return Outcome(None, "", remote.logs(cluster.ssh_outputs("logs reads them on the swarm's control manager"), args))


def shell(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    return Outcome(None, "", remote.shell(cluster.ssh_outputs(f"shell enters the {args.service}'s container"), args))


COMMANDS: dict[str, Callable[[Cluster, argparse.Namespace], Outcome]] = {
    "run": run, "list": list_jobs, "describe": describe, "wait": wait, "cancel": cancel,
    "savepoint": savepoint, "stop": stop, "ui": ui, "logs": logs, "shell": shell, "sql": sql.run,
    "spark": spark.run}


def clock(ms) -> str:
    if not isinstance(ms, int) or ms <= 0:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def duration(ms) -> str:
    if not isinstance(ms, int) or ms < 0:
        return "-"
    seconds = ms // 1000
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    return " ".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
