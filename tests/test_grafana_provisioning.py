"""Grafana's provisioning files (components/grafana/) against Grafana's documented schema, and the Flink
dashboard's PromQL against the metric names Flink 1.20.3 and the node exporter really export.

The schema, from grafana/grafana's docs:
- docs/sources/administration/provisioning/index.md: "Data sources" (apiVersion 1, `datasources`,
  each with `name` and `type` required, `access` proxy or direct, `uid`, `url`, `isDefault`,
  `editable`, `jsonData`, ...) and "Dashboards" (`providers`, each with a required unique `name`,
  `type` file, `folder`, `disableDeletion`, `allowUiUpdates`, `updateIntervalSeconds`, and
  `options.path` required for the file type; `folder` must be empty for `foldersFromFilesStructure`).
- docs/sources/dashboards/build-dashboards/view-dashboard-json-model/index.md: the dashboard's fields
  (`uid` a string of 8-40 characters, `title`, `tags`, `timezone`, `editable`, `graphTooltip` 0-2,
  `time`, `templating.list`, `annotations`, `refresh`, `schemaVersion`, `version`, `panels`; `id`
  null until the database assigns one), a panel's `gridPos` (`w` 1-24 of the 24 columns, `h`, `x`,
  `y`), `id`, `type`, `title`; a template variable's `name`, `type`, `query`, `includeAll`, `multi`.
- docs/sources/datasources/prometheus/template-variables/index.md: a query variable's
  `label_values(<metric>, <label>)`, multi-value and All variables used with `=~`, `$__rate_interval`.

The metric names (and the labels each carries) were read from a live scrape: Flink 1.20.3's
PrometheusReporter on a local jobmanager and taskmanager running tests/e2e/jobs/Ticker.java with 5 s
checkpoints, and prometheus-node-exporter; components/grafana/README.md says where each comes from in
Flink's and node_exporter's source.
"""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path

import pytest
import yaml

from components import monitoring, ports
from components.monitoring import GRAFANA_FILES as GRAFANA
from components.monitoring import GRAFANA_MOUNTS as MOUNTS  # where each file is mounted in Grafana's container
from tests.grafana_queries import (BUILT_INS, DASHBOARD, LABEL_VALUES, VARIABLE, dashboard_queries,
                                   load_dashboard, substitute, variable_query)

ROOT = Path(__file__).resolve().parent.parent

TASK = frozenset({"job_id", "job_name", "task_id", "task_name", "task_attempt_id", "task_attempt_num",
                  "subtask_index", "tm_id", "host"})
JM_JOB = frozenset({"job_id", "job_name", "host"})
TM = frozenset({"tm_id", "host"})
FILESYSTEM = frozenset({"device", "fstype", "mountpoint", "device_error"})  # device_error: node_exporter 1.9
# Every metric the dashboard may use, with the labels it carries (seen on the live scrape).
METRICS = {
    "flink_taskmanager_job_task_numRecordsInPerSecond": TASK,
    "flink_taskmanager_job_task_numRecordsOutPerSecond": TASK,
    "flink_taskmanager_job_task_backPressuredTimeMsPerSecond": TASK,
    "flink_taskmanager_job_task_isBackPressured": TASK,
    "flink_jobmanager_job_lastCheckpointDuration": JM_JOB,
    "flink_jobmanager_job_lastCheckpointSize": JM_JOB,
    "flink_jobmanager_job_numRestarts": JM_JOB,
    "flink_taskmanager_Status_JVM_Memory_Heap_Used": TM,
    "flink_taskmanager_Status_JVM_Memory_Heap_Max": TM,
    "flink_taskmanager_Status_JVM_GarbageCollector_All_TimeMsPerSecond": TM,
    "flink_taskmanager_Status_JVM_GarbageCollector_All_Count": TM,
    "flink_taskmanager_Status_JVM_CPU_Load": TM,
    "node_cpu_seconds_total": frozenset({"cpu", "mode"}),
    "node_memory_MemAvailable_bytes": frozenset(),
    "node_filesystem_avail_bytes": FILESYSTEM,
    "node_filesystem_size_bytes": FILESYSTEM,
    "node_filesystem_free_bytes": FILESYSTEM,
    "node_network_receive_bytes_total": frozenset({"device"}),
    "node_network_transmit_bytes_total": frozenset({"device"}),
    "node_uname_info": frozenset({"sysname", "release", "version", "machine", "nodename", "domainname"}),
}
TARGET_LABELS = frozenset({"job", "instance"})  # Prometheus adds these to every scraped series
# PromQL's aggregations, functions and keywords a panel may use.
PROMQL_WORDS = frozenset({
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "abs", "ceil", "floor", "round", "clamp",
    "clamp_min", "clamp_max", "histogram_quantile", "label_replace", "label_join", "vector", "scalar",
    "time", "timestamp", "absent", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "changes", "resets",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"})
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def yaml_file(name: str) -> dict:
    return yaml.safe_load((GRAFANA / name).read_text())


def promql_problems(expr: str) -> list[str]:
    """What is wrong with a concrete PromQL expr (no variables left), as far as this small check sees:
    quoting and brackets, matchers, range durations, unknown words, metric names, their labels."""
    problems = []
    if '"' in STRING.sub("", expr):
        return [f"an unclosed string in {expr!r}"]
    depth = []
    for char in STRING.sub('""', expr):
        if char in "([{":
            depth.append(char)
        elif char in ")]}":
            if not depth or "([{"[")]}".index(char)] != depth.pop():
                return [f"unbalanced {char!r} in {expr!r}"]
    if depth:
        return [f"unclosed {depth[-1]!r} in {expr!r}"]
    metrics = set()
    for metric, matchers in SELECTOR.findall(expr):
        metrics.add(metric)
        labels = METRICS.get(metric, frozenset()) | TARGET_LABELS
        rest = MATCHER.sub("", matchers).strip()
        if rest:
            problems.append(f"not a label matcher: {rest!r} in {expr!r}")
        for label, op, value in MATCHER.findall(matchers):
            if label not in labels:
                problems.append(f"{metric} has no label {label!r} ({expr!r})")
            if op in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as error:
                    problems.append(f"{value!r} is not a regex: {error}")
    for window in re.findall(r"\[([^\]]*)\]", expr):
        if not DURATION.fullmatch(window):
            problems.append(f"[{window}] is not a range duration ({expr!r})")
    grouping = [label.strip() for _, labels in GROUPING.findall(expr) for label in labels.split(",") if label.strip()]
    bare = re.sub(r"\[[^\]]*\]", "", SELECTOR.sub(lambda m: m[1] or "", GROUPING.sub(r"\1", STRING.sub("", expr))))
    for word in IDENTIFIER.findall(re.sub(r"\b[0-9.]+(e[+-]?[0-9]+)?\b", "", bare)):
        if word in METRICS:
            metrics.add(word)
        elif word not in PROMQL_WORDS:
            problems.append(f"{word!r} is neither a verified metric nor a PromQL word ({expr!r})")
    known = TARGET_LABELS.union(*(METRICS.get(m, frozenset()) for m in metrics))
    problems += [f"no metric of {expr!r} has the label {label!r}" for label in grouping if label not in known]
    if not metrics & set(METRICS):
        problems.append(f"{expr!r} reads no verified metric")
    return problems


def panels() -> list[dict]:
    return [p for p in load_dashboard()["panels"] if p["type"] != "row"]


# --- datasource.yaml -----------------------------------------------------------------------------

def test_the_datasource_file_is_one_prometheus_datasource_as_documented():
    doc = yaml_file("datasource.yaml")
    assert doc["apiVersion"] == 1 and set(doc) <= {"apiVersion", "datasources", "deleteDatasources", "prune"}
    [source] = doc["datasources"]
    documented = {"name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth",
                  "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData", "version",
                  "editable"}
    assert set(source) <= documented, set(source) - documented
    assert isinstance(source["name"], str) and source["name"]
    assert (source["type"], source["uid"], source["access"]) == ("prometheus", "prometheus", "proxy")
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True and source["editable"] is False
    assert isinstance(source.get("orgId", 1), int) and isinstance(source.get("version", 1), int)
    assert isinstance(source.get("jsonData", {}), dict)


def test_the_datasource_url_names_the_prometheus_service_and_its_port():
    [source] = yaml_file("datasource.yaml")["datasources"]
    assert source["url"] == f"http://{monitoring.PROMETHEUS}:{ports.PROMETHEUS}"


def test_the_datasource_scrape_interval_is_the_default_one():
    """$__rate_interval is at least 4 of the datasource's scrape interval: it must be Prometheus's."""
    defaults = yaml.safe_load((ROOT / "config" / "defaults.yaml").read_text())["monitoring"]
    [source] = yaml_file("datasource.yaml")["datasources"]
    assert source["jsonData"]["timeInterval"] == defaults["scrapeInterval"]


# --- dashboards.yaml -----------------------------------------------------------------------------

def test_the_dashboard_provider_is_a_file_provider_as_documented():
    doc = yaml_file("dashboards.yaml")
    assert doc["apiVersion"] == 1 and set(doc) == {"apiVersion", "providers"}
    [provider] = doc["providers"]
    documented = {"name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
                  "allowUiUpdates", "options"}
    assert set(provider) <= documented, set(provider) - documented
    assert isinstance(provider["name"], str) and provider["name"]
    assert provider.get("type", "file") == "file" and provider["folder"] == "flink-swarm"
    assert provider["disableDeletion"] is True and provider["allowUiUpdates"] is False
    interval = provider.get("updateIntervalSeconds", 10)
    assert isinstance(interval, int) and interval > 0
    assert set(provider["options"]) <= {"path", "foldersFromFilesStructure"}
    # foldersFromFilesStructure needs an empty folder: with ours it must be off.
    assert not provider["options"].get("foldersFromFilesStructure", False)


def test_the_provider_reads_the_folder_the_dashboard_is_mounted_in():
    [provider] = yaml_file("dashboards.yaml")["providers"]
    assert provider["options"]["path"] == posixpath.dirname(MOUNTS["flink.json"])
    assert posixpath.basename(MOUNTS["flink.json"]) == DASHBOARD.name


def test_every_file_monitoring_mounts_is_here():
    assert all((GRAFANA / name).is_file() for name in MOUNTS)


# --- flink.json: the dashboard -------------------------------------------------------------------

def test_the_dashboard_has_the_documented_fields():
    dashboard = load_dashboard()
    assert dashboard.get("id") is None  # the database assigns it
    assert (dashboard["uid"], dashboard["title"]) == ("flink-swarm", "Flink on flink-swarm")
    assert 8 <= len(dashboard["uid"]) <= 40
    assert isinstance(dashboard["tags"], list) and all(isinstance(t, str) for t in dashboard["tags"])
    assert dashboard["timezone"] in ("browser", "utc", "")
    assert isinstance(dashboard["editable"], bool) and dashboard["graphTooltip"] in (0, 1, 2)
    assert set(dashboard["time"]) == {"from", "to"} and all(isinstance(v, str) for v in dashboard["time"].values())
    assert isinstance(dashboard["templating"]["list"], list) and isinstance(dashboard["annotations"]["list"], list)
    assert isinstance(dashboard["refresh"], str)
    assert isinstance(dashboard["schemaVersion"], int) and isinstance(dashboard["version"], int)
    assert isinstance(dashboard["panels"], list) and panels()


def test_the_dashboard_file_is_indented_json():
    text = DASHBOARD.read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"


def test_panel_ids_are_unique_integers():
    ids = [p["id"] for p in load_dashboard()["panels"]]
    assert all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    assert len(ids) == len(set(ids)), sorted(ids)


def test_every_panel_has_a_place_on_the_grid_and_none_overlap():
    placed = []
    for panel in load_dashboard()["panels"]:
        grid = panel["gridPos"]
        assert set(grid) >= {"x", "y", "w", "h"} and all(isinstance(grid[k], int) for k in "xywh"), panel["title"]
        assert 1 <= grid["w"] <= 24 and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] >= 1 and grid["y"] >= 0, panel["title"]
        for other, o in placed:
            apart = (grid["x"] + grid["w"] <= o["x"] or o["x"] + o["w"] <= grid["x"]
                     or grid["y"] + grid["h"] <= o["y"] or o["y"] + o["h"] <= grid["y"])
            assert apart, f"{panel['title']!r} overlaps {other!r}"
        placed.append((panel["title"], grid))


def test_every_panel_and_target_uses_the_provisioned_datasource_by_uid():
    [source] = yaml_file("datasource.yaml")["datasources"]
    reference = {"type": source["type"], "uid": source["uid"]}
    for panel in panels():
        assert panel["datasource"] == reference, panel["title"]
        assert panel["targets"], f"{panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == reference, (panel["title"], target["refId"])
    for variable in load_dashboard()["templating"]["list"]:
        assert variable["datasource"] == reference, variable["name"]


def test_every_target_has_an_expr_and_a_refid_of_its_own():
    for panel in panels():
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(isinstance(r, str) and r for r in refs), panel["title"]
        for target in panel["targets"]:
            assert isinstance(target.get("expr"), str) and target["expr"].strip(), (panel["title"], target["refId"])


def test_rows_hold_no_queries_and_span_the_width():
    rows = [p for p in load_dashboard()["panels"] if p["type"] == "row"]
    assert rows
    for row in rows:
        assert "targets" not in row and row["gridPos"]["w"] == 24 and row["gridPos"]["x"] == 0, row["title"]


def test_the_variables_are_label_values_queries_of_verified_metrics_and_labels():
    for variable in load_dashboard()["templating"]["list"]:
        assert variable["type"] == "query" and IDENTIFIER.fullmatch(variable["name"]), variable["name"]
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        assert query == variable["definition"], variable["name"]
        match = LABEL_VALUES.fullmatch(query)
        assert match, f"{variable['name']}: {query!r} is not label_values(<metric>, <label>)"
        metric, label = match.groups()
        assert metric in METRICS and label in METRICS[metric], (variable["name"], metric, label)
        assert variable["refresh"] in (1, 2), variable["name"]  # on load or on time range change
        if variable.get("includeAll"):
            assert variable["allValue"] == ".*", variable["name"]


def test_each_variable_filters_the_label_its_values_come_from_with_a_regex_matcher():
    """Multi-value and All variables become regexes: used as `<its label>=~"$var"`, nothing else."""
    variables = load_dashboard()["templating"]["list"]
    exprs = [t["expr"] for p in panels() for t in p["targets"]]
    for variable in variables:
        _, label = LABEL_VALUES.fullmatch(variable["definition"]).groups()
        uses = [m for e in exprs for m in VARIABLE.finditer(e) if variable["name"] in m.groups()]
        assert uses, f"${variable['name']} is used by no panel"
        proper = sum(e.count(f'{label}=~"${variable["name"]}"') for e in exprs)
        assert proper == len(uses), f"${variable['name']} is used other than as {label}=~\"${variable['name']}\""


def test_every_expr_uses_only_defined_variables():
    names = {v["name"] for v in load_dashboard()["templating"]["list"]} | set(BUILT_INS)
    for panel in panels():
        for target in panel["targets"]:
            used = {g for m in VARIABLE.finditer(target["expr"]) for g in m.groups() if g}
            assert used <= names, (panel["title"], used - names)


def test_every_expr_is_promql_of_verified_metrics_and_their_labels():
    problems = [p for query in dashboard_queries() for p in promql_problems(query.expr)]
    assert not problems, "\n".join(problems)


def test_every_verified_metric_is_used_and_named_in_the_readme():
    exprs = " ".join(q.expr for q in dashboard_queries())
    readme = (GRAFANA / "README.md").read_text()
    assert [m for m in METRICS if not re.search(rf"\b{m}\b", exprs)] == []
    assert [m for m in METRICS if m not in readme] == []


@pytest.mark.parametrize("expr, problem", [
    ('rate(flink_taskmanager_job_task_numRecordsIn{job_name=~".*"}[1m])', "neither a verified metric"),
    ('flink_taskmanager_Status_JVM_CPU_Load{job_name=~".*"}', "has no label 'job_name'"),
    ('sum by (task_name) (flink_taskmanager_Status_JVM_CPU_Load)', "has the label 'task_name'"),
    ('rate(node_cpu_seconds_total[$__rate_interval])', "not a range duration"),
    ('sum(node_cpu_seconds_total{mode="idle"}', "unclosed"),
    ('node_uname_info{nodename=~"("}', "is not a regex"),
    ('node_uname_info{nodename=~"vm}', "unclosed string"),
    ('1 + 1', "reads no verified metric"),
])
def test_the_promql_check_finds_what_is_wrong(expr, problem):
    assert any(problem in p for p in promql_problems(expr)), promql_problems(expr)


# --- tests/grafana_queries.py: the queries for a live Prometheus ----------------------------------

def test_dashboard_queries_are_every_target_and_every_variable_made_concrete():
    dashboard = load_dashboard()
    targets = [(p["title"], t["refId"]) for p in panels() for t in p["targets"]]
    queries = dashboard_queries()
    assert [(q.panel, q.ref_id) for q in queries if q.ref_id] == targets
    assert [q.panel for q in queries if not q.ref_id] == [f"variable {v['name']}" for v in dashboard["templating"]["list"]]
    assert not [q.expr for q in queries if "$" in q.expr or "[[" in q.expr]
    assert len(dashboard_queries(with_variables=False)) == len(targets)


def test_dashboard_queries_put_all_for_the_variables_and_the_given_rate_interval():
    raw = {(p["title"], t["refId"]): t["expr"] for p in panels() for t in p["targets"]}
    for query in dashboard_queries(rate_interval="45s", with_variables=False):
        expected = raw[(query.panel, query.ref_id)]
        for name in ("job_name", "taskmanager", "node"):
            expected = expected.replace(f'"${name}"', '".*"')
        assert query.expr == expected.replace("$__rate_interval", "45s")
    assert any("[45s]" in q.expr for q in dashboard_queries(rate_interval="45s"))


def test_dashboard_queries_take_a_concrete_value_for_a_variable():
    queries = dashboard_queries(values={"job_name": "ticker"}, with_variables=False)
    job = [q.expr for q in queries if "job_name=" in q.expr]
    assert job and all('job_name=~"ticker"' in e for e in job)
    assert all('tm_id=~".*"' in q.expr for q in queries if "tm_id=" in q.expr)
    with pytest.raises(ValueError, match="no such dashboard variable"):
        dashboard_queries(values={"job": "ticker"})


def test_a_variable_the_dashboard_does_not_define_is_refused():
    with pytest.raises(ValueError, match=r"\$cluster"):
        substitute('up{cluster=~"$cluster"}', {"node": ".*"})
    assert substitute('up{a=~"${node}", b=~"[[node]]"}[$__rate_interval]', {"node": "x", "__rate_interval": "2m"}) \
        == 'up{a=~"x", b=~"x"}[2m]'


def test_a_variable_query_becomes_the_series_its_values_come_from():
    assert variable_query("label_values(node_uname_info, nodename)") == "count by (nodename) (node_uname_info)"
    with pytest.raises(ValueError):
        variable_query("query_result(up)")
