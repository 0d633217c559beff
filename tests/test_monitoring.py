"""Monitoring under mocks: the services, their placement and images, Prometheus's targets, Flink's
reporter, the firewalls, Grafana's secret and provisioning, the readiness step and the off switch."""
import hashlib
import json
import shlex

import pytest
import yaml

from components import ports
from components.monitoring import GRAFANA_FILES, GRAFANA_MOUNTS
from tests.harness import BASE_CONFIG, is_secret, run_program
from tests.test_flink import properties

CMD, SERVICE = "command:remote:Command", "docker:index/service:Service"
CONFIG, SECRET = "docker:index/serviceConfig:ServiceConfig", "docker:index/secret:Secret"
NSG, FIREWALL = "azure-native:network:NetworkSecurityGroup", "gcp:compute/firewall:Firewall"
CONTROL = "azure-swarm-manager"  # the blog topology's only manager
MONITORING = {"prometheus", "node-exporter", "grafana"}
REPORTER = {"metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            "metrics.reporter.prom.port": str(ports.FLINK_METRICS)}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLINK_SWARM_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
        return run_program(dict(BASE_CONFIG))


def services(run):
    return {s.name: s for s in run.of_type(SERVICE)}


def container(service):
    return service.inputs["taskSpec"]["containerSpec"]


def digest(image):
    return f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def test_monitoring_is_on_by_default_with_three_services(run):
    assert MONITORING <= set(services(run))


def test_prometheus_and_grafana_run_on_the_control_manager_with_their_data_on_it(run):
    found = services(run)
    for name, target in (("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")):
        service = found[name]
        assert service.inputs["taskSpec"]["placement"]["constraints"] == [f"node.labels.name == {CONTROL}"]
        assert service.inputs["mode"] == {"replicated": {"replicas": 1}}
        assert {"type": "bind", "source": f"/var/lib/flink-swarm/{name}", "target": target} in container(service)["mounts"]
    data = run.get("swarm-monitoring-data")
    words = shlex.split(data.inputs["create"])
    assert words[-2:] == ["/var/lib/flink-swarm/prometheus:65534", "/var/lib/flink-swarm/grafana:472"]
    for name in ("prometheus", "grafana"):
        assert run.depends_on(found[name], data)


def test_every_image_is_pinned_by_the_control_managers_pull(run):
    found = services(run)
    for service, image in (("prometheus", "prom/prometheus:v3.5.0"), ("node-exporter", "prom/node-exporter:v1.9.1"),
                           ("grafana", "grafana/grafana:12.1.1")):
        pull = run.get(f"swarm-{service}-pull")
        assert shlex.split(pull.inputs["create"])[-1] == image
        assert container(found[service])["image"] == digest(image)
        assert run.depends_on(found[service], pull)


def test_the_node_exporter_runs_on_every_nodes_host_network_reading_the_host_read_only(run):
    exporter = services(run)["node-exporter"]
    assert exporter.inputs["mode"]["global"] is True
    assert not exporter.inputs["taskSpec"]["placement"].get("constraints")
    assert exporter.inputs["taskSpec"]["networksAdvanceds"] == [{"id": "host"}]
    mounts = {m["target"]: m for m in container(exporter)["mounts"]}
    assert {t: (m["source"], m["readOnly"]) for t, m in mounts.items()} == {
        "/host/proc": ("/proc", True), "/host/sys": ("/sys", True), "/host/root": ("/", True)}
    assert f"--web.listen-address=:{ports.NODE_EXPORTER}" in container(exporter)["args"]


def prometheus_config(run):
    (config,) = [c for c in run.of_type(CONFIG) if c.name == "prometheus-config"]
    text = config.inputs["dataRaw"]
    assert config.inputs["name"] == f"prometheus-config-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return json.loads(text)


def test_prometheus_finds_flink_by_the_swarms_dns_and_every_node_by_its_address(run):
    jobs = {job["job_name"]: job for job in prometheus_config(run)["scrape_configs"]}
    (dns,) = jobs["flink"]["dns_sd_configs"]
    assert dns["names"] == ["tasks.jobmanager", "tasks.taskmanager"] and dns["port"] == ports.FLINK_METRICS
    targets = {c["labels"]["node"]: c["targets"] for c in jobs["node"]["static_configs"]}
    assert targets == {row["name"]: [f"{row['publicIp']}:{ports.NODE_EXPORTER}"] for row in run.outputs["nodes"]}
    prometheus = services(run)["prometheus"]
    args = container(prometheus)["args"]
    assert "--storage.tsdb.retention.time=15d" in args and "--config.file=/etc/prometheus/flink-swarm.yml" in args
    (mounted,) = container(prometheus)["configs"]
    assert mounted["fileName"] == "/etc/prometheus/flink-swarm.yml"


def test_prometheus_targets_follow_the_nodes_only(program, tmp_path):
    assert prometheus_config(program()) == prometheus_config(program(flink={"taskSlots": 3}))
    nodes = [{"name": "m", "cloud": "azure", "role": "manager"}, {"name": "j", "cloud": "azure", "role": "jobmanager"},
             {"name": "w", "cloud": "gcp", "role": "worker", "count": 3}]
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"nodes": nodes}))
    grown = prometheus_config(program(topology=str(tmp_path / "t.yaml")))
    nodes = {c["labels"]["node"] for job in grown["scrape_configs"] if job["job_name"] == "node"
             for c in job["static_configs"]}
    assert nodes == {"m", "j", "w-1", "w-2", "w-3"}


def test_flink_reports_to_prometheus_from_both_services(run):
    found = services(run)
    for name in ("jobmanager", "taskmanager"):
        assert {k: v for k, v in properties(found[name]).items() if k.startswith("metrics.")} == REPORTER


def test_grafana_is_provisioned_from_the_repository_files_and_its_password_is_a_secret(run):
    grafana = services(run)["grafana"]
    mounted = {c["fileName"]: c for c in container(grafana)["configs"]}
    assert set(mounted) == set(GRAFANA_MOUNTS.values())
    configs = {c.inputs["name"]: c.inputs["dataRaw"] for c in run.of_type(CONFIG)}
    for file, path in GRAFANA_MOUNTS.items():
        assert configs[mounted[path]["configName"]] == (GRAFANA_FILES / file).read_text()
    (secret,) = [s for s in run.of_type(SECRET) if s.name == "grafana-admin-password"]
    assert is_secret(secret.raw["data"])
    (mounted_secret,) = container(grafana)["secrets"]
    env = container(grafana)["env"]
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == mounted_secret["fileName"]
    assert mounted_secret["fileMode"] == 0o400
    password = run.outputs["grafanaAdminPassword"]
    assert password and password not in json.dumps(grafana.inputs)
    assert "grafanaAdminPassword" in run.secret_outputs


def test_prometheus_and_grafana_are_published_on_the_control_manager_for_admin_cidrs_only(run):
    found = services(run)
    for name, port in (("prometheus", ports.PROMETHEUS), ("grafana", ports.GRAFANA)):
        (published,) = found[name].inputs["endpointSpec"]["ports"]
        assert (published["targetPort"], published["publishedPort"], published["publishMode"]) == (port, port, "host")
    control_ip = next(r["publicIp"] for r in run.outputs["nodes"] if r["name"] == CONTROL)
    assert run.outputs["monitoring"] == {"prometheus": f"http://{control_ip}:{ports.PROMETHEUS}",
                                         "grafana": f"http://{control_ip}:{ports.GRAFANA}"}
    rules = {r["name"]: r for r in run.of_type(NSG)[0].inputs["securityRules"]}
    for name, port in (("prometheus", "9090"), ("grafana", "3000")):
        assert rules[name]["destinationPortRanges"] == [port]
        assert rules[name]["sourceAddressPrefixes"] == ["203.0.113.7/32"]
    assert rules["node-exporter"]["sourceAddressPrefixes"] != ["203.0.113.7/32"]  # the cluster's addresses
    firewalls = {f.inputs["name"]: f.inputs for f in run.of_type(FIREWALL)}
    assert firewalls["test-prometheus"]["sourceRanges"] == ["203.0.113.7/32"]


def test_up_waits_for_the_monitoring_services_beside_flink(run):
    ready = run.get("swarm-monitoring-ready")
    words = shlex.split(ready.inputs["create"])
    assert words[words.index("-c") + 2] == "flink-ready"
    assert words[-3:] == ["prometheus=1", "node-exporter=5", "grafana=1"]
    for name in MONITORING:
        assert run.depends_on(ready, services(run)[name])
    # beside Flink, not before it: Flink's own readiness does not wait for monitoring
    assert not run.depends_on(run.get("azure-flink-jobmanager-flink-serving"), ready)


def test_grafana_off_keeps_prometheus_and_closes_its_port(program):
    run = program(monitoring={"grafana": False})
    assert {"prometheus", "node-exporter"} <= set(services(run)) and "grafana" not in services(run)
    assert not run.of_type(SECRET) and run.outputs["grafanaAdminPassword"] is None
    assert "grafana" not in {r["name"] for r in run.of_type(NSG)[0].inputs["securityRules"]}
    assert words_tail(run.get("swarm-monitoring-ready")) == ["prometheus=1", "node-exporter=5"]


def words_tail(step):
    words = shlex.split(step.inputs["create"])
    return [w for w in words if "=" in w and w.split("=")[1].isdigit()]


def test_monitoring_off_leaves_the_flink_graph_as_without_it(program):
    off = program(monitoring={"enabled": False})
    assert not MONITORING & set(services(off)) and not off.of_type(CONFIG) and not off.of_type(SECRET)
    assert not [c for c in off.of_type(CMD) if "monitoring" in c.name or c.name.endswith(
        ("prometheus-pull", "grafana-pull", "node-exporter-pull"))]
    for name in ("jobmanager", "taskmanager"):
        assert not any(k.startswith("metrics.") for k in properties(services(off)[name]))
    assert {"prometheus", "grafana", "node-exporter"}.isdisjoint(
        r["name"] for r in off.of_type(NSG)[0].inputs["securityRules"])
    assert off.outputs["monitoring"] is None
