"""flink-swarm:monitoring: Prometheus, a node exporter on every node and Grafana (docs/monitoring.md)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from ..ports import FLINK_METRICS
from .checks import boolean, fail, image, mapping
from .types import OWN, MonitoringSpec
from .yamlfile import deep_merge

FIELD = f"{OWN}monitoring"
# Prometheus durations in one unit (model/time.go ParseDuration takes these; one unit keeps the bounds
# plain), each with its bounds in seconds: a scrape from 5 s to 5 min, samples kept from 1 h to 10 years.
DURATION = re.compile(r"([1-9][0-9]{0,5})(s|m|h|d|w|y)")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
# Flink's Prometheus reporter, which the official image ships in plugins/metrics-prometheus (Flink's docs,
# deployment/metric_reporters "Prometheus"): written into both services' options when monitoring is on.
REPORTER = {"metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            "metrics.reporter.prom.port": str(FLINK_METRICS)}
BOUNDS = {"scrapeInterval": (5, 300, "15s"), "retention": (3600, 10 * 365 * 86400, "15d")}


def read(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> MonitoringSpec:
    merged = deep_merge(defaults["monitoring"], mapping(FIELD, cfg.get("monitoring"), set(defaults["monitoring"])))
    enabled = boolean(f"{FIELD}.enabled", merged["enabled"])
    return MonitoringSpec(
        enabled=enabled, grafana=enabled and boolean(f"{FIELD}.grafana", merged["grafana"]),
        prometheus_image=image(f"{FIELD}.prometheusImage", merged["prometheusImage"]),
        node_exporter_image=image(f"{FIELD}.nodeExporterImage", merged["nodeExporterImage"]),
        grafana_image=image(f"{FIELD}.grafanaImage", merged["grafanaImage"]),
        scrape_interval=_duration("scrapeInterval", merged["scrapeInterval"]),
        retention=_duration("retention", merged["retention"]))


def _duration(key: str, value: Any) -> str:
    least, most, example = BOUNDS[key]
    match = DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or not least <= int(match[1]) * SECONDS[match[2]] <= most:
        fail(f"{FIELD}.{key}", value, f"not a duration from {least} to {most} seconds in one unit (s, m, h, d, w, y)",
             f"write e.g. {example}")
    return value


def flink_options(spec: MonitoringSpec) -> dict[str, str]:
    """The Flink options monitoring adds (flink.settings refuses them: config/flinkopts.py WRITTEN)."""
    return dict(REPORTER) if spec.enabled else {}
