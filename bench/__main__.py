"""Run the benchmark: `python -m bench [--quick]` (normally through `bench/run`).

Every scenario runs against stock python-socketio, our gateway and Node.js
socket.io, alternating (stock, ours, node, stock, ours, node...) in the same
run, each time on fresh server processes, so the table compares figures
taken under the same machine load. Then the API figures (`bench.api_load`)
and the database ceiling of a send (`bench.db_ceiling`). Needs DATABASE_URL
(MySQL, migrated) and REDIS_URL.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
import traceback

from bench import redis_emitter, report, scenarios
from bench.harness import PY, Env, Target

QUICK = dict(rounds=1, conn_first=500, conn_total=1000, fan_sockets=1000, fan_burst=30, paced_rate=5,
             paced_secs=2, relay_users=200,
             relay_rates=[500, 1000, 2000, 4000, 8000, 12000, 16000, 24000, 32000, 40000],
             relay_secs=1.0, scale_out=False, e2e_users=200, e2e_rates=[100, 200], e2e_secs=2, rest_secs=3,
             db_secs=2)
FULL = dict(rounds=2, conn_first=1000, conn_total=5000, fan_sockets=1000, fan_burst=150, paced_rate=5,
            paced_secs=4, relay_users=1000,
            relay_rates=[500, 1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000, 24000, 28000,
                         32000, 36000, 40000, 44000, 48000, 56000, 64000],
            relay_secs=3, scale_out=True, e2e_users=1000, e2e_rates=[100, 200, 500], e2e_secs=5, rest_secs=8,
            db_secs=5)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


async def run_one(env: Env, kind: str, procs: int, name: str, coro_fn) -> dict | None:
    label = kind if procs == 1 else f"{kind} x{procs}"
    started = time.monotonic()
    try:
        async with Target(env, kind, procs) as target:
            figures = await coro_fn(target)
    except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others
        log(f"{name} / {label}: FAILED: {exc}")
        traceback.print_exc(file=sys.stderr)
        return None
    shown = {k: v for k, v in figures.items() if k != "relay_steps"}
    log(f"{name} / {label} ({time.monotonic() - started:.0f}s): {json.dumps(shown)}")
    if "relay_steps" in figures:
        for step in figures["relay_steps"]:
            log(f"    relay step {json.dumps(step)}")
    return figures


async def db_ceiling(env: Env, secs: float) -> dict | None:
    """`bench.db_ceiling` in a process of its own (it forks one per connection)."""
    with open(f"{env.logdir}/db_ceiling.log", "ab") as errors:
        proc = await asyncio.create_subprocess_exec(
            PY, "-m", "bench.db_ceiling", "--secs", str(secs), "--connections", "1,8",
            stdout=asyncio.subprocess.PIPE, stderr=errors, env=env.base)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 2 * secs + 120)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        log("db ceiling: timed out")
        return None
    if proc.returncode != 0:
        log(f"db ceiling: FAILED ({proc.returncode}); see db_ceiling.log")
        return None
    figures = json.loads(out.decode().strip().splitlines()[-1])
    log(f"db ceiling: {json.dumps(figures)}")
    return {"db_statements": figures["statements"],
            **{f"db_ceiling_{lv['connections']}": lv["tx_per_s"] for lv in figures["levels"]},
            **{f"db_errors_{lv['connections']}": lv["errors_by_mysql_code"] for lv in figures["levels"]}}


async def main_async(args) -> int:
    cfg = QUICK if args.quick else FULL
    tag = f"{os.getpid()}"
    logdir = args.logdir or f"/tmp/bench-{tag}"
    os.makedirs(logdir, exist_ok=True)
    secret = os.environ.get("JWT_SECRET") or secrets.token_hex(16)
    signing = os.environ.get("EVENTS_SIGNING_SECRET") or secrets.token_hex(16)
    events_channel = f"bench:{tag}:events"
    base = dict(os.environ, JWT_SECRET=secret, EVENTS_SIGNING_SECRET=signing, EVENTS_CHANNEL=events_channel,
                REDIS_URL=args.redis, PYTHONUNBUFFERED="1")
    env = Env(base=base, redis_url=args.redis, secret=secret, signing=signing,
              stock_channel=f"bench:{tag}:sio", events_channel=events_channel, logdir=logdir,
              pin=not args.no_pin, node_key=f"bench:{tag}:node")
    log(f"mode {'quick' if args.quick else 'full'}; logs in {logdir}; "
        f"{'servers pinned to cores of their own' if env.pin else 'no core pinning'}")
    kinds = [k for k in ("stock", "ours", "node") if k in args.targets.split(",")]
    if "node" in kinds:
        # Once per run: the publisher's node messages are the real emitter's bytes.
        redis_emitter.verify(args.redis, f"bench:{tag}:emitter-check")
        log("node: the publisher's messages equal @socket.io/redis-emitter's bytes")
    results: dict[str, list[dict]] = {}

    def keep(label: str, figures: dict | None) -> None:
        if figures is not None:
            results.setdefault(label, []).append(figures)

    only = set(args.only.split(",")) if args.only else None
    plan = [
        ("relay", 1, lambda t: scenarios.relay(env, t, cfg["relay_users"], cfg["relay_rates"], cfg["relay_secs"])),
        ("fanout", 1, lambda t: scenarios.fanout(env, t, cfg["fan_sockets"], cfg["fan_burst"], cfg["paced_rate"],
                                                 cfg["paced_secs"])),
        ("connections", 1, lambda t: scenarios.connections(env, t, cfg["conn_first"], cfg["conn_total"])),
    ]
    for name, procs, fn in plan:
        if only and name not in only:
            continue
        for _round in range(cfg["rounds"]):
            for kind in kinds:
                keep(kind, await run_one(env, kind, procs, name, fn))
    if cfg["scale_out"] and (not only or "scaleout" in only):
        fn = plan[1][2]
        for kind in kinds:
            keep(f"{kind} x2", await run_one(env, kind, 2, "fanout", fn))

    extra: list[tuple[str, str, str]] = []
    if "ours" in kinds and (not only or "api" in only):
        from bench import api_load

        try:
            extra, figures = await api_load.run(env, cfg, log)
            keep("api", figures)
        except Exception as exc:  # noqa: BLE001 - the Socket.IO figures are still worth the table
            log(f"api: FAILED: {exc}")
            traceback.print_exc(file=sys.stderr)
    # The API's send figure is read as a share of this ceiling: "api" measures both.
    # After the API, so that nothing the probe writes is in the API's way.
    if not only or "db" in only or "api" in only:
        keep("db", await db_ceiling(env, cfg["db_secs"]))

    with open(f"{logdir}/results.json", "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    text = (report.table(results, extra + report.db_rows(results)) + "\n\nGoals (ratios from this run):\n\n"
            + report.goals(results))
    with open(f"{logdir}/results.md", "w") as fh:
        fh.write(text + "\n")
    print(text)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small counts, about 3 minutes")
    parser.add_argument("--targets", default="stock,ours,node", help="comma list of stock, ours, node")
    parser.add_argument("--only", default="",
                        help="comma list of relay, fanout, connections, scaleout, db, api (api includes db)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--logdir", default="")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not give each server process a core of its own (load generators on the rest)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("DATABASE_URL must point at a migrated MySQL database (bench/run makes one)")
    import uvloop

    raise SystemExit(uvloop.run(main_async(args)))


if __name__ == "__main__":
    main()
