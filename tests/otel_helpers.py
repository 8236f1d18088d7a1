"""Reading what the OpenTelemetry SDK's in-memory metric reader holds (see the `metric_reader`
fixture in conftest.py)."""

from __future__ import annotations

from typing import Any

Points = dict[tuple[str, frozenset[tuple[str, Any]]], Any]


def metric_points(reader: Any) -> Points:
    """{(metric name, attributes): value}; a histogram's value is (count, sum)."""
    points: Points = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, frozenset(point.attributes.items()))
                    value = getattr(point, "value", None)
                    points[key] = (point.count, point.sum) if value is None else value
    return points
