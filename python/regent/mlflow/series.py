"""A metric's whole history as MLflow's get_metric_history returns it.

A run file keeps at most 1000 points per metric; a longer history is
downsampled there and kept whole in the artifact store as gzip CSV parts
(`step,value,timestamp`; see the README's "Long histories"). The parts are
read back here, so MLflow sees every point that was logged.
"""

import csv
import gzip
import io

from .fetch import get
from .times import rfc3339_to_ms


def full_history(registry, record, key):
    """[(step, value, timestamp ms)] of one metric of a committed run."""
    start = rfc3339_to_ms(record.get("start_time")) or 0
    fallback = rfc3339_to_ms(record.get("end_time")) or start
    series = (record.get("series") or {}).get(key) or {}
    parts = series.get("parts") or []
    if parts:
        points = []
        for part in parts:
            path = get(registry, part["uri"], f"series {part['uri']}")
            with gzip.open(path, "rb") as f:
                rows = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
                for row in rows:
                    points.append(
                        (
                            int(row["step"]),
                            float(row["value"]),
                            rfc3339_to_ms(row["timestamp"]) or fallback,
                        )
                    )
        return points
    history = (record.get("history") or {}).get(key)
    if history:
        return [
            (int(p.get("step", 0)), float(p["value"]), rfc3339_to_ms(p.get("timestamp")) or fallback)
            for p in history
        ]
    value = (record.get("metrics") or {}).get(key)
    return [] if value is None else [(0, float(value), fallback)]
