"""Profile a server under one benchmark scenario with py-spy.

`python -m bench.profile --kind ours --scenario fanout` (or relay, connections; with DATABASE_URL set,
e.g. from inside `bench/run`'s environment) starts the server, samples it
with `py-spy record --format raw` while the scenario runs, and prints the
functions with the most samples, by self time and inclusive time.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import secrets
import signal
import sys

from bench import scenarios
from bench.harness import Env, Target


def top(path: str, limit: int) -> str:
    own: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    samples = 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            n = int(count)
            samples += n
            frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                      for f in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                total[frame] += n
    out = [f"{samples} samples", "", "self %  function"]
    out += [f"{100 * n / samples:5.1f}  {name}" for name, n in own.most_common(limit)]
    out += ["", "total %  function"]
    out += [f"{100 * n / samples:5.1f}  {name}" for name, n in total.most_common(limit)]
    return "\n".join(out)


async def main_async(args) -> None:
    logdir = args.logdir
    os.makedirs(logdir, exist_ok=True)
    secret = os.environ.get("JWT_SECRET") or secrets.token_hex(16)
    signing = os.environ.get("EVENTS_SIGNING_SECRET") or secrets.token_hex(16)
    channel = f"bench:prof{os.getpid()}:events"
    base = dict(os.environ, JWT_SECRET=secret, EVENTS_SIGNING_SECRET=signing, EVENTS_CHANNEL=channel,
                REDIS_URL=args.redis)
    env = Env(base=base, redis_url=args.redis, secret=secret, signing=signing,
              stock_channel=f"bench:prof{os.getpid()}:sio", events_channel=channel, logdir=logdir)
    out = f"{logdir}/{args.kind}-{args.scenario}.pyspy.txt"
    async with Target(env, args.kind) as target:
        spy = await asyncio.create_subprocess_exec(
            os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "-p", str(target.procs[0].pid),
            "-o", out, "--format", "raw", "-r", "250", "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(1.0)
        if args.scenario == "fanout":
            figures = await scenarios.fanout(env, target, 1000, args.burst, 5, 2)
        elif args.scenario == "connections":
            figures = await scenarios.connections(env, target, 1000, args.sockets)
        else:
            figures = await scenarios.relay(env, target, 1000, [args.rate], 5)
        spy.send_signal(signal.SIGINT)
        await asyncio.wait_for(spy.wait(), 30)
    print({k: v for k, v in figures.items() if k != "relay_steps"})
    print(top(out, args.top))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--kind", choices=("stock", "ours"), default="ours")
    parser.add_argument("--scenario", choices=("fanout", "relay", "connections"), default="fanout")
    parser.add_argument("--burst", type=int, default=150)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--sockets", type=int, default=5000, help="connections scenario: sockets in all")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--logdir", default="/tmp/bench-profile")
    args = parser.parse_args()
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
