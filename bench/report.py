"""Turn per-run figures into the markdown results table.

Each figure is the median over the rounds of a target; the spread column
(max - min over rounds, as a % of the median, worst of the two sides) is the
noise seen in this run.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics

# (figure key, row label, which target is "ours", which is "stock")
ROWS = [
    ("relay_ceiling", "Relay ceiling: per-user events/s with p99 < 50 ms, none lost", "ours", "stock"),
    ("relay_cpu_us_per_event", "Relay: server CPU µs per event at 4,000 events/s", "ours", "stock"),
    ("relay_first_p50_ms", "Relay latency p50 at the first step (ms)", "ours", "stock"),
    ("relay_first_p99_ms", "Relay latency p99 at the first step (ms)", "ours", "stock"),
    ("fanout_deliveries_per_s", "Fan-out to a 1,000-socket room: deliveries/s (1 process)", "ours", "stock"),
    ("fanout_cpu_us_per_delivery", "Fan-out: server CPU µs per delivery (1 process)", "ours", "stock"),
    ("fanout_paced_p50_ms", "Fan-out latency p50, paced broadcasts (ms)", "ours", "stock"),
    ("fanout_paced_p99_ms", "Fan-out latency p99, paced broadcasts (ms)", "ours", "stock"),
    ("fanout_deliveries_per_s", "Fan-out deliveries/s, 2 processes behind Redis", "ours x2", "stock x2"),
    ("fanout_cpu_us_per_delivery", "Fan-out CPU µs per delivery, 2 processes", "ours x2", "stock x2"),
    ("rss_per_conn_1000", "RSS per idle connection at 1,000 sockets (KB)", "ours", "stock"),
    ("rss_per_conn_5000", "RSS per idle connection at 5,000 sockets (KB)", "ours", "stock"),
    ("rss_per_conn_500", "RSS per idle connection at 500 sockets (KB)", "ours", "stock"),
    ("connect_5000_s", "Time to connect 5,000 sockets (s)", "ours", "stock"),
    ("connect_1000_s", "Time to connect 1,000 sockets (s)", "ours", "stock"),
]


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.python_implementation()} {platform.python_version()}"


def median(runs: list[dict], key: str) -> tuple[float | None, float | None]:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
    if not values:
        return None, None
    mid = statistics.median(values)
    spread = (max(values) - min(values)) / mid * 100 if len(values) > 1 and mid else None
    return mid, spread


def capped(runs: list[dict]) -> bool:
    return any(r.get("relay_capped") for r in runs)


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict[str, list[dict]], extra_rows: list[tuple[str, str, str]] | None = None) -> str:
    """`results` maps a target label to its list of per-round figure dicts."""
    lines = [
        f"Date: {datetime.date.today().isoformat()}; machine: {machine()}.",
        "",
        "| figure | ours | stock | ratio ours/stock | spread over rounds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label, ours_label, stock_label in ROWS:
        ours, ours_spread = median(results.get(ours_label, []), key)
        stock, stock_spread = median(results.get(stock_label, []), key)
        if ours is None and stock is None:
            continue
        ratio = f"{ours / stock:.2f}x" if ours is not None and stock else "n/a"
        if key == "relay_ceiling" and capped(results.get(ours_label, [])):
            ratio = f">= {ratio} (ours passed the top rate tried)"
        spreads = [s for s in (ours_spread, stock_spread) if s is not None]
        spread = f"±{max(spreads) / 2:.0f}%" if spreads else "one round"
        lines.append(f"| {label} | {fmt(ours)} | {fmt(stock)} | {ratio} | {spread} |")
    for label, ours, note in extra_rows or []:
        lines.append(f"| {label} | {ours} | n/a | {note} | |")
    return "\n".join(lines)


GOALS = [
    ("fanout_cpu_us_per_delivery", "fan-out CPU per delivery <= 0.5x stock", lambda r: r <= 0.5),
    ("relay_ceiling", "relay ceiling >= 1.5x stock", lambda r: r >= 1.5),
    ("rss_per_conn_1000", "memory per idle connection <= stock (1,000 sockets)", lambda r: r <= 1.0),
    ("rss_per_conn_5000", "memory per idle connection <= stock (5,000 sockets)", lambda r: r <= 1.0),
]


def goals(results: dict[str, list[dict]]) -> str:
    lines = []
    for key, text, check in GOALS:
        ours, _ = median(results.get("ours", []), key)
        stock, _ = median(results.get("stock", []), key)
        if ours is None or not stock:
            continue
        ratio = ours / stock
        if key == "relay_ceiling" and capped(results.get("stock", [])):
            lines.append(f"- {text}: undetermined (stock passed the top rate tried; ours/stock {ratio:.2f}x)")
            continue
        at_least = ">= " if key == "relay_ceiling" and capped(results.get("ours", [])) else ""
        lines.append(f"- {text}: {at_least}{ratio:.2f}x -> {'met' if check(ratio) else 'NOT met'}")
    return "\n".join(lines)
