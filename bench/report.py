"""Turn per-run figures into the markdown results table.

Each figure is the median over the rounds of a target; the spread column
(max - min over rounds, as a % of the median, worst of the three kinds) is
the noise seen in this run.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics

# (figure key, row label, which target is "ours", which is "stock"); Node's is stock's with "node" for "stock".
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


def _ratio(ours: float | None, other: float | None) -> str:
    return f"{ours / other:.2f}x" if ours is not None and other else "n/a"


def _bounded(ratio: str, ours_capped: bool, other_capped: bool) -> str:
    if ours_capped and other_capped:
        return f"{ratio} (both passed the top rate tried)"
    if ours_capped:
        return f">= {ratio} (ours passed the top rate tried)"
    return f"<= {ratio} (it passed the top rate tried)" if other_capped else ratio


def table(results: dict[str, list[dict]], extra_rows: list[tuple[str, str, str]] | None = None) -> str:
    """`results` maps a target label to its list of per-round figure dicts."""
    lines = [
        f"Date: {datetime.date.today().isoformat()}; machine: {machine()}.",
        "",
        "| figure | ours | stock | Node | ratio ours/stock | ratio ours/Node | spread over rounds |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, label, ours_label, stock_label in ROWS:
        node_label = stock_label.replace("stock", "node")
        (ours, ours_spread), (stock, stock_spread), (node, node_spread) = (
            median(results.get(lb, []), key) for lb in (ours_label, stock_label, node_label))
        if ours is None and stock is None and node is None:
            continue
        vs_stock, vs_node = _ratio(ours, stock), _ratio(ours, node)
        if key == "relay_ceiling":
            # A kind that passed the top rate tried has a ceiling of at least that rate.
            ours_capped = capped(results.get(ours_label, []))
            vs_stock = _bounded(vs_stock, ours_capped, capped(results.get(stock_label, [])))
            vs_node = _bounded(vs_node, ours_capped, capped(results.get(node_label, [])))
        spreads = [s for s in (ours_spread, stock_spread, node_spread) if s is not None]
        spread = f"±{max(spreads) / 2:.0f}%" if spreads else "one round"
        lines.append(f"| {label} | {fmt(ours)} | {fmt(stock)} | {fmt(node)} | {vs_stock} | {vs_node} | {spread} |")
    for label, ours, note in extra_rows or []:
        lines.append(f"| {label} | {ours} | n/a | n/a | {note} | | |")
    return "\n".join(lines)


def db_rows(results: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """The database ceiling, and the API's send figure as a share of it."""
    db = (results.get("db") or [{}])[0]
    if not db:
        return []
    rows = [(f"Database ceiling: the send's {db['db_statements']} statements through PyMySQL, one transaction "
             f"per send, {n} connection{'s' if n > 1 else ''} ({'processes' if n > 1 else 'one process'})",
             f"{db[f'db_ceiling_{n}']:,}/s", _db_note(db.get(f"db_errors_{n}")))
            for n in (1, 8) if f"db_ceiling_{n}" in db]
    share = send_share(results)
    if share is not None:
        rows.append(("REST send-message as a share of the 8-connection database ceiling", f"{share:.1f}%",
                     "same run"))
    return rows


def _db_note(errors: dict | None) -> str:
    if not errors:
        return "transactions/s, no errors"
    return "transactions/s; rolled back and retried, by MySQL error code: " + ", ".join(
        f"{code}: {n}" for code, n in sorted(errors.items()))


def send_share(results: dict[str, list[dict]]) -> float | None:
    db, api = (results.get("db") or [{}])[0], (results.get("api") or [{}])[0]
    if not db.get("db_ceiling_8") or api.get("send_rps") is None:
        return None
    return api["send_rps"] / db["db_ceiling_8"] * 100


# (figure key, goal, ours against which target, check on the ratio ours/that)
GOALS = [
    ("fanout_cpu_us_per_delivery", "fan-out CPU per delivery <= 0.5x stock", "stock", lambda r: r <= 0.5),
    ("relay_ceiling", "relay ceiling >= 1.5x stock", "stock", lambda r: r >= 1.5),
    ("rss_per_conn_1000", "memory per idle connection <= stock (1,000 sockets)", "stock", lambda r: r <= 1.0),
    ("rss_per_conn_5000", "memory per idle connection <= stock (5,000 sockets)", "stock", lambda r: r <= 1.0),
    # The gateway against the reference implementation (issue 17).
    ("fanout_cpu_us_per_delivery", "fan-out CPU per delivery <= 0.75x Node's", "node", lambda r: r <= 0.75),
    ("relay_ceiling", "relay ceiling >= Node's", "node", lambda r: r >= 1.0),
    ("relay_cpu_us_per_event", "relay CPU per event <= Node's", "node", lambda r: r <= 1.0),
    ("rss_per_conn_5000", "memory per idle connection at 5,000 sockets <= 1.5x Node's", "node", lambda r: r <= 1.5),
    ("connect_5000_s", "connecting 5,000 sockets <= stock python-socketio's time", "stock", lambda r: r <= 1.0),
]
SEND_SHARE_GOAL = 25.0  # % of the 8-connection database ceiling


def goals(results: dict[str, list[dict]]) -> str:
    lines = []
    for key, text, other, check in GOALS:
        if other not in results:
            continue  # that kind was not among the targets
        ours, _ = median(results.get("ours", []), key)
        theirs, _ = median(results.get(other, []), key)
        if ours is None or not theirs:
            lines.append(f"- {text}: not measured in this run")
            continue
        ratio = ours / theirs
        if key == "relay_ceiling" and capped(results.get(other, [])):
            # Its real ceiling is at least its figure: short of the goal here, ours is short of it.
            # Unless ours passed the top rate too: then neither ceiling is known.
            ours_capped = capped(results.get("ours", []))
            verdict = "NOT met" if not check(ratio) and not ours_capped else "undetermined"
            lines.append(f"- {text}: <= {ratio:.2f}x ({other} passed the top rate tried) -> {verdict}")
            continue
        at_least = ">= " if key == "relay_ceiling" and capped(results.get("ours", [])) else ""
        lines.append(f"- {text}: {at_least}{ratio:.2f}x -> {'met' if check(ratio) else 'NOT met'}")
    if "db" in results or "api" in results:
        share = send_share(results)
        text = f"send-message >= {SEND_SHARE_GOAL:.0f}% of the 8-connection database ceiling"
        lines.append(f"- {text}: not measured in this run" if share is None else
                     f"- {text}: {share:.1f}% -> {'met' if share >= SEND_SHARE_GOAL else 'NOT met'}")
    return "\n".join(lines)
