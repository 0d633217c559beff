"""The PromQL of the provisioned Flink dashboard (components/grafana/flink.json), made concrete so a
live Prometheus can run it: `dashboard_queries()` for the end-to-end test, which asserts each returns
data (tests/test_grafana_provisioning.py checks this module and the files themselves).

A panel's expr uses the dashboard's template variables ($job_name, $taskmanager, $node: each a
multi-value variable with an All option, used as `label=~"$var"`) and Grafana's $__rate_interval.
Here each variable becomes the regex `.*` (Grafana's All, the variable's allValue) unless `values`
names another regex, and $__rate_interval becomes `rate_interval`. Grafana makes $__rate_interval at
least 4 scrape intervals (docs/sources/datasources/prometheus/template-variables/index.md); the 1m
default suits the 15 s scrape interval of config/defaults.yaml. A rate needs two samples in its
window, so query at least one window after the targets were first scraped.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping, NamedTuple, Optional

DASHBOARD = Path(__file__).resolve().parent.parent / "components" / "grafana" / "flink.json"

# Grafana's built-in variables the dashboard may use, and what each becomes here.
BUILT_INS = ("__rate_interval",)
# $name, ${name} and [[name]]: the variable syntaxes of Grafana's Prometheus datasource.
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]")
LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)")


class Query(NamedTuple):
    panel: str  # the panel's title, or "variable <name>" for a template variable's values
    ref_id: str  # the target's refId ("" for a variable)
    expr: str  # PromQL with no variable left


def load_dashboard(path: Path = DASHBOARD) -> dict:
    return json.loads(path.read_text())


def variable_names(dashboard: Mapping) -> list[str]:
    return [v["name"] for v in dashboard.get("templating", {}).get("list", [])]


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """`expr` with every variable replaced from `variables`; ValueError names one that is not there."""
    def value(match: re.Match) -> str:
        name = next(group for group in match.groups() if group is not None)
        if name not in variables:
            raise ValueError(f"{expr!r} uses ${name}, which is neither a dashboard variable nor a known built-in")
        return variables[name]
    return VARIABLE.sub(value, expr)


def variable_query(query: str) -> str:
    """A variable's `label_values(metric, label)` as PromQL that returns one series per value."""
    match = LABEL_VALUES.fullmatch(query.strip())
    if match is None:
        raise ValueError(f"not a label_values(metric, label) query: {query!r}")
    metric, label = match.groups()
    return f"count by ({label}) ({metric})"


def dashboard_queries(rate_interval: str = "1m", values: Optional[Mapping[str, str]] = None,
                      with_variables: bool = True, dashboard: Optional[Mapping] = None) -> list[Query]:
    """Every PromQL expr of the dashboard's panels (and, with `with_variables`, one per template
    variable: the series its values come from), variables replaced: `values` maps a variable's
    name to a regex (default `.*`, all), `rate_interval` replaces $__rate_interval."""
    dashboard = load_dashboard() if dashboard is None else dashboard
    names = variable_names(dashboard)
    unknown = set(values or {}) - set(names)
    if unknown:
        raise ValueError(f"no such dashboard variable: {sorted(unknown)} (the dashboard has {names})")
    variables = {name: ".*" for name in names} | dict(values or {}) | {"__rate_interval": rate_interval}
    queries = []
    if with_variables:
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            queries.append(Query(f"variable {variable['name']}", "", variable_query(text)))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append(Query(panel["title"], target["refId"], substitute(target["expr"], variables)))
    return queries
