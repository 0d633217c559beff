"""Spark beside Flink (flink-swarm:spark, docs/spark.md): a Spark standalone cluster as the Spark-on-Swarm
seed runs it (seeds/004), on the Flink cluster's swarm, network and docker provider.

- The master runs beside the jobmanager, found by the workers through the swarm's DNS as `spark-master`
  (the seed's SPARK_MASTER_HOST/SPARK_MASTER_URL); a worker runs on every worker node (a global service),
  so the master's UI shows each machine's own cores and memory, as the seed wanted.
- Master and workers advertise their own container's address: Spark's default host is
  `Utils.localHostName()`, the address the container's name resolves to (spark core/src/main/scala/
  org/apache/spark/util/Utils.scala localHostName, findLocalInetAddress), its address on this network.
- The official image runs any command given as it is (apache/spark-docker 3.5.7/scala2.12-java17-ubuntu/
  entrypoint.sh:126-128); its user is `spark` (uid 185, Dockerfile:19-22) and SPARK_HOME /opt/spark (:75).
- spark-defaults.conf (spark.settings, with the master's URL) is a Docker config named by a digest of
  its text, in every Spark container: the daemons and each `spark-submit` in the master's container read it.
- The master's UI (and its JSON, which `flink-swarm spark list` and `kill` use) is published on the
  jobmanager's node like Flink's REST API, answering only on its loopback: it kills applications
  without authentication (ports.TABLE `spark-ui`).
- `<jobmanager node>-spark-ready` waits for the master and a worker per worker node, as Flink's services
  are waited for (services.tasks_ready), beside Flink: nothing of Flink waits for Spark.
"""
from __future__ import annotations

import hashlib
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker

from . import ports
from .config import Settings
from .config.spark import DAEMON_MEMORY_MB
from .config.topology import FLINK_ROLES, WORKER
from .flink import FlinkCluster
from .machines import Node
from .services import MADE_BESIDE, swarm_service, tasks_ready
from .steps import node_command, script
from .swarm import SwarmCluster

MASTER, WORKER_SERVICE = "spark-master", "spark-worker"
SPARK_HOME = "/opt/spark"
SPARK_UID = 185
DEFAULTS_PATH = f"{SPARK_HOME}/conf/spark-defaults.conf"
MASTER_URL = f"spark://{MASTER}:{ports.SPARK_MASTER}"
WORKER_UI = 8081  # each worker's own UI, inside the network only (the master's UI links to it)


def spark_defaults(settings: dict[str, str]) -> str:
    """spark-defaults.conf: the master's URL, then spark.settings; one `key value` a line (Spark's
    properties-file form, read by Utils.getPropertiesFromFile)."""
    lines = {"spark.master": MASTER_URL, "spark.ui.killEnabled": "true", **settings}
    return "".join(f"{key} {value}\n" for key, value in lines.items())


class SparkCluster(pulumi.ComponentResource):
    """A Spark master beside the Flink jobmanager and a Spark worker on every worker node."""

    def __init__(self, name: str, swarm: SwarmCluster, flink: FlinkCluster, nodes: Sequence[Node],
                 settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:SparkCluster", name, None, opts)
        spec, jobmanager = settings.spark, flink.jobmanager_node
        on_manager = pulumi.ResourceOptions(parent=self, provider=flink.provider)
        # `<node>-spark-pull` on every node that runs Spark, while the swarm forms; the jobmanager node's
        # prints the image pinned by digest, which both services run.
        pulls = {n.name: node_command(self, n, "spark-pull", script("image-pull", spec.image),
                                      depends_on=[swarm.installs[n.name]])
                 for n in nodes if n.role in FLINK_ROLES}
        image = pulls[jobmanager.name].stdout.apply(str.strip)
        text = spark_defaults(dict(spec.settings))
        config = docker.ServiceConfig(
            "spark-defaults", name=f"spark-defaults-{hashlib.sha256(text.encode()).hexdigest()[:12]}", data_raw=text,
            opts=pulumi.ResourceOptions.merge(on_manager, MADE_BESIDE))
        defaults = [docker.ServiceTaskSpecContainerSpecConfigArgs(
            config_id=config.id, config_name=config.name, file_name=DEFAULTS_PATH, file_uid=str(SPARK_UID),
            file_gid=str(SPARK_UID), file_mode=0o444)]
        env = {"SPARK_DAEMON_MEMORY": f"{DAEMON_MEMORY_MB}m"}  # the daemons' heap (spark-class reads it)
        class_ = f"{SPARK_HOME}/bin/spark-class"
        self.master = swarm_service(
            MASTER, image, flink.network, pulumi.ResourceOptions.merge(on_manager, pulumi.ResourceOptions(
                depends_on=[pulls[jobmanager.name]])), env,
            args=[class_, "org.apache.spark.deploy.master.Master", "--port", str(ports.SPARK_MASTER),
                  "--webui-port", str(ports.SPARK_UI)], configs=defaults,
            published=[docker.ServiceEndpointSpecPortArgs(
                name="ui", target_port=ports.SPARK_UI, published_port=ports.SPARK_UI, protocol="tcp",
                publish_mode="host")])
        self.worker = swarm_service(
            WORKER_SERVICE, image, flink.network, pulumi.ResourceOptions.merge(on_manager, pulumi.ResourceOptions(
                depends_on=[*pulls.values(), *swarm.formed])), env,
            args=[class_, "org.apache.spark.deploy.worker.Worker", "--port", str(ports.SPARK_WORKER),
                  "--webui-port", str(WORKER_UI), "--cores", str(spec.worker_cores),
                  "--memory", f"{spec.worker_memory_mb}m", MASTER_URL], configs=defaults,
            mode=docker.ServiceModeArgs(global_=True), role=WORKER)
        workers = sum(n.role == WORKER for n in nodes)
        wait, _ = tasks_ready({MASTER: (self.master, 1), WORKER_SERVICE: (self.worker, workers)},
                              [n.identity for n in nodes if n.role in FLINK_ROLES])
        node_command(self, jobmanager, "spark-ready", wait, on=swarm.control, depends_on=[self.master, self.worker])
        # the stack's `spark` output: where the job CLI finds the master's container and UI
        self.access = {"node": jobmanager.name, "service": MASTER, "master": MASTER_URL, "uiPort": ports.SPARK_UI,
                       "url": jobmanager.url(ports.SPARK_UI)}
        self.register_outputs({"access": self.access})
