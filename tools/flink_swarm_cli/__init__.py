"""Run jobs on a flink-swarm cluster, with nothing of Flink or Java on this machine.

    flink-swarm [GLOBAL OPTIONS] run [-c CLASS] [-p N] [-s SAVEPOINT [-n]] JAR [ARG...]
    flink-swarm [GLOBAL OPTIONS] run [-p N] --python JOB.py [ARG...]      (or -py JOB.py)
    flink-swarm [GLOBAL OPTIONS] list
    flink-swarm [GLOBAL OPTIONS] describe JOB_ID
    flink-swarm [GLOBAL OPTIONS] wait JOB_ID [--timeout SECONDS]
    flink-swarm [GLOBAL OPTIONS] cancel JOB_ID
    flink-swarm [GLOBAL OPTIONS] savepoint JOB_ID [--dir DIR] [--timeout SECONDS]
    flink-swarm [GLOBAL OPTIONS] stop JOB_ID [--savepoint-dir DIR] [--drain] [--timeout SECONDS]
    flink-swarm [GLOBAL OPTIONS] ui [--port N]
    flink-swarm [GLOBAL OPTIONS] logs SERVICE_OR_TASK [-f] [--since S] [--tail N] [--timestamps]
    flink-swarm [GLOBAL OPTIONS] shell [jobmanager|taskmanager] [--node NODE] [-- COMMAND...]
    flink-swarm [GLOBAL OPTIONS] sql FILE.sql [--max-rows N] [--timeout SECONDS] [--gateway-url URL]
    flink-swarm [GLOBAL OPTIONS] sql -e STATEMENT [--max-rows N] [--timeout SECONDS] [--gateway-url URL]
    flink-swarm [GLOBAL OPTIONS] spark submit [--class CLASS] [--name NAME] [--conf KEY=VALUE]...
                [--executor-memory M] [--total-executor-cores N] APP.jar|APP.py [ARG...]
    flink-swarm [GLOBAL OPTIONS] spark list
    flink-swarm [GLOBAL OPTIONS] spark kill APP_ID
    flink-swarm [GLOBAL OPTIONS] spark ui [--port N]

GLOBAL OPTIONS (before or after the command word, not after run's JAR): --stack S, --cwd DIR (the
Pulumi project's folder), --url http://host:port, --output json, -v/--verbose; and for sql,
--gateway-url http://host:port.

The cluster is found through the stack's outputs (`pulumi stack output --json [--stack S] [--cwd DIR]`,
so the Pulumi CLI is needed unless `--url` is given). Flink's REST API has no authentication and runs
any jar uploaded to it, so no firewall opens it: it answers on the jobmanager node's 127.0.0.1:8081, and
each command opens an SSH tunnel to that node for as long as it runs (`ssh -N -L`, with the stack's key
files ~/.ssh/flink-swarm/flink-swarm-<stack>[.known_hosts], or $FLINK_SWARM_KEY_DIR's, or the ssh-agent's
keys); a local stack's UI is on this machine's loopback already. Jars go through the REST API: `run`
uploads the jar and runs it. As with Flink's own `flink run`, run's options come before the jar: every
word after the jar is the program's, as it is (no `--` needed; one right after the jar is dropped). A
Python job is copied into the jobmanager's container over SSH and started there with `flink run -d
-py`, so the cluster's image needs Python and PyFlink (flink-swarm:flink.python) and the stack's outputs
are needed even with `--url`. A `--parallelism` above the cluster's task slots (GET /overview) is
refused before anything is uploaded.

`run` prints the job id and its page in the UI; `list` the jobs, newest first; `describe` a job's
state, tasks and latest failure's root cause; `wait` waits until the job ends (exit code 0 if it
FINISHED, 1 if it FAILED or was CANCELED, 124 at --timeout); `cancel` cancels it; `savepoint` takes a
savepoint (to DIR, or the cluster's `state.savepoints.dir`) and waits for it; `stop` stops the job
with a savepoint (`--drain`: emit MAX_WATERMARK first, for a job that will not be resumed); `ui` opens
the tunnel on local port N (default 8081, or a free one), prints the URL of Flink's web UI and keeps the
tunnel open until Ctrl-C. A job's page that a command prints is under that URL when the cluster is
reached through SSH. `logs` runs `docker service logs` on the swarm's control manager over SSH and
prints its lines as they come (`-f`: until Ctrl-C); `shell` opens a shell in the jobmanager's or a
taskmanager's container over SSH (`ssh -t`, `docker exec -it`), or runs COMMAND there and exits with
its exit code. Both need the stack's outputs, even with `--url`.

`sql` runs Flink SQL through the stack's SQL gateway (output `flinkSqlGateway`, on the jobmanager
node's 127.0.0.1:8083, reached as Flink's REST API is; `--gateway-url` instead): the file's statements
(separated by `;` outside quotes and comments; `-` reads stdin), or -e's, in order, in one session of
the gateway, closed at the end whatever happens. It prints `OK` for a statement such as SET or CREATE
(a SHOW's table), `job <id>` and its page for an INSERT, a query's rows as a table (a changelog
materialised, as Flink's SQL client's table mode shows it), at most --max-rows (default 1000) of them.
A statement the gateway refuses stops the run: its number and first line, and Flink's root cause.

`spark` works on the stack's Spark standalone cluster (output `spark`: its master's web UI on the
jobmanager node's 127.0.0.1:8080, reached as Flink's REST API is). `spark submit` copies the
application over SSH into the master's container and runs spark-submit there in client mode (the
driver in that container, the executors on the workers), its output as it comes, then says the
application's id and page (on stderr: stdout is the application's); every word after APP is the
application's; its exit code is spark-submit's. `spark list` prints the applications, newest first,
and the workers; `spark kill` kills a running application through the master's UI and waits until it
has ended; `spark ui` is `ui` for the master's UI (local port 8080). They need the stack's outputs.

A refusal prints one line: what failed and Flink's root cause (the last "Caused by" of its Java
trace); `--verbose` prints the whole trace. An HTTP error that does not come from Flink (a proxy's
502, say) is said as such: its status, content type and first line. Exit codes: 0 done, 1 refused
(or the waited-for job did not finish), 2 usage error, 124 timed out, 130 interrupted.
`--output json` prints each command's result as JSON on stdout (see flink_swarm_cli.commands).
"""
from .main import main

__all__ = ["main"]
