"""`flink-swarm spark submit|list|kill|ui`: applications on the stack's Spark standalone cluster (output
`spark`): its master's web UI, and the JSON it serves, answer on the jobmanager node's 127.0.0.1:8080,
reached as Flink's REST API is (a local stack's URL, else an SSH tunnel); `submit` runs the driver in
the master's container over SSH (spark_submit.py).

The master UI's calls, read in Spark's sources (core/src/main/scala/org/apache/spark/deploy/, below
deploy/; Spark 3.5 as the official `spark` image runs it):
    GET  /json/       MasterPage.renderJson -> JsonProtocol.writeMasterState: "workers" [writeWorkerInfo:
                      "id", "host", "cores", "coresused", "memory", "memoryused" (MB), "state"],
                      "activeapps" and "completedapps" [writeApplicationInfo: "id", "name", "state",
                      "cores", "memoryperexecutor" (and the old "memoryperslave"), "starttime", "duration"]
    POST /app/kill/   form id=<app id>&terminate=true: MasterPage.handleAppKillRequest, attached by
                      MasterWebUI.initialize when spark.ui.killEnabled (on by default), answers a
                      redirect to / whether or not it killed anything: `kill` checks /json/ after it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import spark_submit
from .remote import checked
from .cluster import Cluster, Outcome, serve
from .errors import Refused
from .rest import check_url, first_line
from .stack import Spark

UI_PORT = 8080  # the local port `flink-swarm spark ui` takes when it is free; the application links point there
TIMEOUT = 30  # seconds for one call to the master's UI
KILL_WAIT, POLL_SECONDS = 10.0, 0.5
# deploy/master/ApplicationState.scala: WAITING, RUNNING, FINISHED, FAILED, KILLED, UNKNOWN
ENDED = ("FINISHED", "FAILED", "KILLED")
MEMORY = re.compile(r"[0-9]+[kmgtp]?b?", re.IGNORECASE)  # a JVM memory size, as spark-submit takes it: 512m, 2g


def _conf(value: str) -> str:
    key = value.split("=", 1)[0]
    if "=" not in value or not key or any(c.isspace() for c in key):
        raise argparse.ArgumentTypeError(f"{value!r} is not KEY=VALUE (e.g. spark.executor.cores=2)")
    return value


def _cores(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of cores: give 1 or more")
    return int(value)


def add_parser(commands, common) -> None:
    spark = commands.add_parser("spark", help="Spark applications on the stack's Spark standalone cluster")
    actions = spark.add_subparsers(dest="spark_command", required=True, metavar="COMMAND")
    submit = actions.add_parser(
        "submit", parents=[common], allow_abbrev=False, help="run an application, its driver in the master's container",
        usage="%(prog)s [OPTIONS] APP.jar|APP.py [ARG...]",
        epilog="ARG...: the application's arguments, every word after APP, as they are.")
    submit.add_argument("app", type=Path, metavar="APP.jar|APP.py", help="the application: a jar, or a PySpark file")
    submit.add_argument("--class", dest="main_class", metavar="CLASS", help="a jar's main class")
    submit.add_argument("--name", help="the application's name (default: Spark's, from the file)")
    submit.add_argument("--conf", action="append", default=[], type=_conf, metavar="KEY=VALUE",
                        help="a Spark property (repeat it for more)")
    submit.add_argument("--executor-memory", metavar="M", type=checked(MEMORY, "a memory size: give 512m, 2g, ..."),
                        help="memory per executor (Spark's default: 1g)")
    submit.add_argument("--total-executor-cores", type=_cores, metavar="N", help="cores for all its executors")
    actions.add_parser("list", parents=[common], help="the applications, newest first, and the workers")
    actions.add_parser("kill", parents=[common], help="kill a running application").add_argument("app_id")
    ui = actions.add_parser("ui", parents=[common], allow_abbrev=False,
                            help="the master's web UI at a local URL, through SSH, until Ctrl-C")
    ui.add_argument("--port", type=int, default=UI_PORT, metavar="N",
                    help=f"the local port (default: {UI_PORT}, or a free one if it is taken; 0: a free one)")


def run(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    return {"submit": submit, "list": list_apps, "kill": kill, "ui": ui}[args.spark_command](cluster, args)


def app_link(spark: Spark, app_id: str) -> str:
    """The application's page in the master's UI (MasterPage's link: app?appId=<id>). Through a tunnel:
    where `flink-swarm spark ui` serves it."""
    base = check_url(spark.ui.url or f"http://127.0.0.1:{UI_PORT}")
    return f"{base}/app/?appId={urllib.parse.quote(app_id, safe='')}"


def master_state(url: str) -> dict:
    """GET /json/ of the master's UI."""
    try:
        with urllib.request.urlopen(f"{url}/json/", timeout=TIMEOUT) as answer:
            text = answer.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        raise Refused(f"GET /json/: Spark's master at {url} answered HTTP {err.code} {err.reason}: "
                      f"{first_line(err.read().decode(errors='replace'))}") from None
    except (urllib.error.URLError, OSError) as err:
        raise Refused(f"cannot reach Spark's master at {url}: {getattr(err, 'reason', err)}") from None
    try:
        state = json.loads(text)
    except ValueError:
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("workers"), list):
        raise Refused(f"GET /json/: {url} is not Spark's master UI? It answered: {text[:300]!r}")
    return state


def apps(state: dict) -> list[dict]:
    """The running and the ended applications, newest first."""
    found = [a for a in (state.get("activeapps") or []) + (state.get("completedapps") or []) if isinstance(a, dict)]
    return sorted(found, key=lambda a: -(a.get("starttime") or 0))


def app_data(spark: Spark, app: dict) -> dict:
    return {"app_id": app.get("id"), "name": app.get("name"), "state": app.get("state"), "cores": app.get("cores"),
            "memory_per_executor_mb": app.get("memoryperexecutor", app.get("memoryperslave")),
            "start_time": app.get("starttime"), "duration_ms": app.get("duration"),
            "url": app_link(spark, str(app.get("id")))}


def megabytes(mb) -> str:
    return f"{mb / 1024:.1f} GiB" if isinstance(mb, (int, float)) and mb >= 1024 else f"{mb} MiB"


def workers_line(workers: list[dict]) -> str:
    """`workers: 2 alive, 8 cores, 14.0 GiB`: the alive ones' (deploy/master/WorkerState.scala: ALIVE,
    DEAD, DECOMMISSIONED, UNKNOWN), as the master's own page counts them."""
    alive = [w for w in workers if w.get("state") == "ALIVE"]
    others = f" (of {len(workers)})" if len(alive) != len(workers) else ""
    return (f"workers: {len(alive)} alive{others}, {sum(w['cores'] or 0 for w in alive)} cores, "
            f"{megabytes(sum(w['memory_mb'] or 0 for w in alive))}")


def list_apps(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    spark = cluster.spark()
    state = master_state(cluster.reach(spark.ui)[0])
    found = [app_data(spark, a) for a in apps(state)]
    workers = [{"id": w.get("id"), "host": w.get("host"), "state": w.get("state"), "cores": w.get("cores"),
                "cores_used": w.get("coresused"), "memory_mb": w.get("memory"), "memory_used_mb": w.get("memoryused")}
               for w in state["workers"] if isinstance(w, dict)]
    lines = [f"{a['app_id']}  {a['state'] or '-':<9} {a['name'] or '-'}" for a in found] or ["no applications"]
    return Outcome({"apps": found, "workers": workers}, "\n".join([*lines, workers_line(workers)]))


def kill(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    spark = cluster.spark()
    url = cluster.reach(spark.ui)[0]
    known = apps(master_state(url))
    app = next((a for a in known if a.get("id") == args.app_id), None)
    if app is None:
        there = ", ".join(f"{a.get('id')} ({a.get('state')})" for a in known[:10]) or "none"
        raise Refused(f"no application {args.app_id} on Spark's master (its applications: {there}): "
                      "`flink-swarm spark list` shows them")
    if app.get("state") in ENDED:
        data = {"app_id": args.app_id, "state": app["state"], "killed": False, "url": app_link(spark, args.app_id)}
        return Outcome(data, f"application {args.app_id} had already ended: {app['state']}\n{data['url']}")
    request_kill(url, args.app_id)
    state = wait_ended(url, args.app_id)
    data = {"app_id": args.app_id, "state": state, "killed": True, "url": app_link(spark, args.app_id)}
    return Outcome(data, f"killed application {args.app_id}: {state}\n{data['url']}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the kill's redirect to / is its answer: not followed
        return None


def request_kill(url: str, app_id: str) -> None:
    form = urllib.parse.urlencode({"id": app_id, "terminate": "true"}).encode()
    request = urllib.request.Request(f"{url}/app/kill/", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.build_opener(_NoRedirect).open(request, timeout=TIMEOUT).close()
    except urllib.error.HTTPError as err:
        if not 300 <= err.code < 400:
            raise Refused(f"POST /app/kill/: Spark's master at {url} answered HTTP {err.code} {err.reason} (is "
                          "spark.ui.killEnabled off on the master?)") from None
    except (urllib.error.URLError, OSError) as err:
        raise Refused(f"cannot reach Spark's master at {url}: {getattr(err, 'reason', err)}") from None


def wait_ended(url: str, app_id: str) -> str:
    """Poll /json/ until the application has ended (KILLED, or FINISHED if it ended first); its state."""
    deadline = time.monotonic() + KILL_WAIT
    while True:
        app = next((a for a in apps(master_state(url)) if a.get("id") == app_id), {})
        if app.get("state") in ENDED:
            return app["state"]
        if time.monotonic() >= deadline:
            raise Refused(f"application {app_id} is still {app.get('state') or 'listed'} {KILL_WAIT:g} s after the kill "
                          "request: is spark.ui.killEnabled off on the master?")
        time.sleep(POLL_SECONDS)


def ui(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    url, tunnel = cluster.reach(cluster.spark().ui, args.port)
    return serve(args, url, tunnel, "Spark's master UI")


def submit(cluster: Cluster, args: argparse.Namespace) -> Outcome:
    """Run the application's driver in the master's container, its output as it comes; spark-submit's
    exit code. The application's id and page are said at the end (on stderr as text: stdout is the
    application's)."""
    spark = cluster.spark()
    code, app_id = spark_submit.submit(cluster.ssh_outputs("spark submit runs the driver"), spark, args)
    data = {"app_id": app_id, "url": app_link(spark, app_id) if app_id else None, "exit_code": code}
    if args.output != "json":
        said = f"application {app_id}\n{data['url']}" if app_id else (
            "the driver's output named no application id (Spark logs \"Connected to Spark cluster with app ID\" at "
            "INFO): `flink-swarm spark list` shows the applications")
        print(said, file=sys.stderr, flush=True)
    return Outcome(data, "", code)
