"""Monitoring: Prometheus and Grafana on the control manager, a node exporter on every node
(flink-swarm:monitoring, docs/monitoring.md).

- Prometheus finds the jobmanager's and the taskmanagers' reporters through the swarm's DNS
  (`tasks.<service>`, one A record per task: moby daemon/libnetwork/service_common.go:34-35) and
  scrapes every node's exporter at the address swarm advertises; its samples live in a directory of
  the control manager that outlives the service.
- The node exporter runs on each node's host network (its network counters are the node's, not a
  container's), reading the host's /proc, /sys and / read-only.
- Grafana's datasource and Flink dashboard are provisioned from components/grafana/, its admin
  password a generated Pulumi secret handed over as a Docker secret.
- Every image pinned by digest by a pull on the control manager (scripts/image-pull.sh), as Flink's is.
- `swarm-monitoring-ready` waits for the services as the Flink ones are waited for (services.readiness),
  beside them: nothing of Flink waits for monitoring.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from . import ports
from .config import Settings
from .config.topology import JOBMANAGER
from .flink import TASKMANAGER, FlinkCluster
from .machines import Node
from .services import MADE_BESIDE, swarm_service, tasks_ready
from .steps import control_command, script
from .swarm import SwarmCluster

PROMETHEUS, GRAFANA, NODE_EXPORTER = "prometheus", "grafana", "node-exporter"
DATA_DIR = "/var/lib/flink-swarm"  # on the control manager: <DATA_DIR>/prometheus, <DATA_DIR>/grafana
PROMETHEUS_UID = 65534  # nobody: the official image's USER (prometheus/prometheus Dockerfile)
GRAFANA_UID = 472  # the official image's grafana user (grafana/grafana Dockerfile, GF_UID)
GRAFANA_FILES = Path(__file__).resolve().parent / "grafana"
# Where Grafana reads its provisioning (docs: administration/provisioning) and the dashboards' folder
# that grafana/dashboards.yaml names.
GRAFANA_MOUNTS = {"datasource.yaml": "/etc/grafana/provisioning/datasources/flink-swarm.yaml",
                  "dashboards.yaml": "/etc/grafana/provisioning/dashboards/flink-swarm.yaml",
                  "flink.json": "/var/lib/grafana/dashboards/flink-swarm/flink.json"}


def prometheus_config(interval: str, nodes: Sequence[tuple[str, str]]) -> str:
    """prometheus.yml: Flink's reporters by DNS, each node's exporter at its address (`nodes`: name, address)."""
    return json.dumps({  # JSON is YAML: no YAML writer needed
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {"job_name": "flink",
             "dns_sd_configs": [{"names": [f"tasks.{JOBMANAGER}", f"tasks.{TASKMANAGER}"], "type": "A",
                                 "port": ports.FLINK_METRICS, "refresh_interval": interval}],
             "relabel_configs": [{"source_labels": ["__meta_dns_name"], "regex": r"tasks\.(.+)",
                                  "target_label": "service"}]},
            {"job_name": "node", "static_configs": [
                {"targets": [f"{address}:{ports.NODE_EXPORTER}"], "labels": {"node": name}}
                for name, address in nodes]},
            {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{ports.PROMETHEUS}"]}]},
        ]}, indent=2) + "\n"


class Monitoring(pulumi.ComponentResource):
    """Prometheus (and Grafana, unless monitoring.grafana is false) on the control manager, a node
    exporter on every node, through the Flink cluster's docker provider and network."""

    def __init__(self, name: str, swarm: SwarmCluster, flink: FlinkCluster, nodes: Sequence[Node],
                 settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("flink-swarm:index:Monitoring", name, None, opts)
        spec, control = settings.monitoring, swarm.control
        docker_runs = [swarm.installs[control.name]]
        # Its steps are the swarm's, on the control manager (components/steps.py control_command): moving
        # control moves them, and monitoring, in place; a new machine there runs them again.
        here = [control.identity]
        self._on_manager = pulumi.ResourceOptions(parent=self, provider=flink.provider)
        self._named = pulumi.ResourceOptions.merge(self._on_manager, MADE_BESIDE)  # configs, the secret
        pulled = {image: control_command(self, f"{step}-pull", control, script("image-pull", image),
                                         depends_on=docker_runs, triggers=here)
                  for step, image in ((PROMETHEUS, spec.prometheus_image), (NODE_EXPORTER, spec.node_exporter_image),
                                      *([(GRAFANA, spec.grafana_image)] if spec.grafana else []))}
        pinned = {image: step.stdout.apply(str.strip) for image, step in pulled.items()}
        dirs = control_command(self, "monitoring-data", control, script(
            "data-dirs", f"{DATA_DIR}/{PROMETHEUS}:{PROMETHEUS_UID}",
            *([f"{DATA_DIR}/{GRAFANA}:{GRAFANA_UID}"] if spec.grafana else [])), depends_on=docker_runs, triggers=here)
        after = pulumi.ResourceOptions.merge(self._on_manager,
                                             pulumi.ResourceOptions(depends_on=[dirs, *pulled.values()]))

        addresses = pulumi.Output.all(*(n.public_ip for n in nodes)).apply(
            lambda ips: prometheus_config(spec.scrape_interval, list(zip((n.name for n in nodes), ips))))
        self.prometheus = swarm_service(
            PROMETHEUS, pinned[spec.prometheus_image], flink.network, after, {},
            args=["--config.file=/etc/prometheus/flink-swarm.yml", "--storage.tsdb.path=/prometheus",
                  f"--storage.tsdb.retention.time={spec.retention}", f"--web.listen-address=:{ports.PROMETHEUS}"],
            configs=[self._config("prometheus-config", addresses, "/etc/prometheus/flink-swarm.yml", PROMETHEUS_UID)],
            mounts=[self._bind(PROMETHEUS, "/prometheus")], node=control.name,
            published=[self._publish(ports.PROMETHEUS)])
        self.node_exporter = swarm_service(  # on every node, as it joins
            NODE_EXPORTER, pinned[spec.node_exporter_image], None,
            pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=swarm.formed)), {},
            args=["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
                  f"--web.listen-address=:{ports.NODE_EXPORTER}",
                  "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)"],
            mounts=[docker.ServiceTaskSpecContainerSpecMountArgs(type="bind", source=source, target=target,
                                                                 read_only=True)
                    for source, target in (("/proc", "/host/proc"), ("/sys", "/host/sys"), ("/", "/host/root"))],
            mode=docker.ServiceModeArgs(global_=True), role=None)
        tasks = {PROMETHEUS: (self.prometheus, 1), NODE_EXPORTER: (self.node_exporter, len(nodes))}
        self.admin_password = None
        if spec.grafana:
            self.grafana = self._grafana(pinned[spec.grafana_image], flink.network, after, control.name)
            tasks[GRAFANA] = (self.grafana, 1)
        wait, _ = tasks_ready(tasks, [n.identity for n in nodes])
        control_command(self, "monitoring-ready", control, wait, depends_on=[service for service, _ in tasks.values()])
        # A local node's are published on this machine's loopback; elsewhere on the control manager's address.
        reach = {port: control.reach(port) or (control.public_ip, port)
                 for port in (ports.PROMETHEUS, *([ports.GRAFANA] if spec.grafana else []))}
        self.urls = {service: pulumi.Output.concat("http://", reach[port][0], ":", str(reach[port][1]))
                     for service, port in ((PROMETHEUS, ports.PROMETHEUS), (GRAFANA, ports.GRAFANA)) if port in reach}
        self.register_outputs({"urls": self.urls})

    def _grafana(self, image: pulumi.Input[str], network: docker.Network, after: pulumi.ResourceOptions,
                 node: str) -> docker.Service:
        """Grafana, provisioned from GRAFANA_FILES, its admin password a generated secret."""
        password = random.RandomPassword("grafana-admin-password", length=24, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.admin_password = pulumi.Output.secret(password.result)  # secret whatever the engine
        secret = docker.Secret("grafana-admin-password", name=pulumi.Output.unsecret(password.result.apply(
            lambda p: "grafana-admin-" + hashlib.sha256(p.encode()).hexdigest()[:12])),
            data=password.result.apply(lambda p: base64.b64encode(p.encode()).decode()), opts=self._named)
        target = "/run/secrets/grafana-admin-password"
        return swarm_service(
            GRAFANA, image, network, after, {
                "GF_SECURITY_ADMIN_PASSWORD__FILE": target, "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_AUTH_ANONYMOUS_ENABLED": "false", "GF_ANALYTICS_REPORTING_ENABLED": "false",
                "GF_ANALYTICS_CHECK_FOR_UPDATES": "false", "GF_SERVER_HTTP_PORT": str(ports.GRAFANA)},
            args=[], configs=[self._config(f"grafana-{Path(file).stem}", (GRAFANA_FILES / file).read_text(), path,
                                           GRAFANA_UID) for file, path in GRAFANA_MOUNTS.items()],
            secrets=[docker.ServiceTaskSpecContainerSpecSecretArgs(
                secret_id=secret.id, secret_name=secret.name, file_name=target, file_uid=str(GRAFANA_UID),
                file_gid="0", file_mode=0o400)],
            mounts=[self._bind(GRAFANA, "/var/lib/grafana")], node=node,
            published=[self._publish(ports.GRAFANA)])

    def _config(self, name: str, text: pulumi.Input[str], path: str,
                uid: int) -> docker.ServiceTaskSpecContainerSpecConfigArgs:
        """A Docker config holding `text`, as the file `path`: named by a digest of its text, as Docker
        configs cannot change (a new text is a new config, which the service moves to)."""
        text = pulumi.Output.from_input(text)
        config = docker.ServiceConfig(name, name=text.apply(
            lambda t: f"{name}-{hashlib.sha256(t.encode()).hexdigest()[:12]}"),
            data_raw=text, opts=self._named)
        return docker.ServiceTaskSpecContainerSpecConfigArgs(
            config_id=config.id, config_name=config.name, file_name=path, file_uid=str(uid), file_gid="0",
            file_mode=0o444)

    @staticmethod
    def _bind(service: str, target: str) -> docker.ServiceTaskSpecContainerSpecMountArgs:
        return docker.ServiceTaskSpecContainerSpecMountArgs(type="bind", source=f"{DATA_DIR}/{service}",
                                                            target=target)

    @staticmethod
    def _publish(port: int) -> docker.ServiceEndpointSpecPortArgs:
        """Published on the control manager's own address (host mode: no routing mesh); firewalls open
        it to adminCidrs (components/ports.py)."""
        return docker.ServiceEndpointSpecPortArgs(target_port=port, published_port=port, protocol="tcp",
                                                  publish_mode="host")
