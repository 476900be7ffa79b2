#!/usr/bin/env python3
"""The Python `cent` 5.x client doing cent-run's job on the same manifest.

  py_cent.py MODE MANIFEST API_URL API_KEY BATCH CONCURRENCY KEYS TIMES_FILE

MODE   async:   cent.AsyncClient (aiohttp), CONCURRENCY asyncio tasks pulling batches
       threads: CONCURRENCY threads, one cent.Client (requests.Session) each
KEYS   1: add an idempotency key to every publish, like cent-run does by default
       (unique per process run, so the server really publishes each command);
       0: send bare publishes.

Steps: load the manifest with PyYAML's libyaml-backed CSafeLoader, turn every
command into a cent PublishRequest, cut batches of BATCH, send them with the
cent batch API, and check that every reply is a publish result (an error reply
or a missing reply fails the run with exit code 1).
Appends one JSON line to TIMES_FILE: parse, build and send seconds (in-process).
"""
import asyncio
import json
import os
import sys
import threading
import time

t_start = time.perf_counter()

import yaml  # noqa: E402
from cent import AsyncClient, BatchRequest, Client, PublishRequest  # noqa: E402

if not getattr(yaml, "__with_libyaml__", False):
    sys.exit("PyYAML is not built with libyaml (no CSafeLoader)")


def main():
    mode, manifest, api_url, api_key = sys.argv[1:5]
    batch, conc, keys = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1"
    times_file = sys.argv[8]

    t0 = time.perf_counter()
    with open(manifest, "rb") as f:
        doc = yaml.load(f, Loader=yaml.CSafeLoader)
    t1 = time.perf_counter()

    run_id = "%x%04x" % (time.time_ns() // 1000, os.getpid() & 0xFFFF)
    reqs = []
    for i, cmd in enumerate(doc["commands"]):
        p = cmd["publish"]
        if keys:
            reqs.append(PublishRequest(channel=p["channel"], data=p["data"],
                                       idempotency_key="py-%s-%d" % (run_id, i)))
        else:
            reqs.append(PublishRequest(channel=p["channel"], data=p["data"]))
    batches = [reqs[i:i + batch] for i in range(0, len(reqs), batch)]
    t2 = time.perf_counter()

    ok = 0
    if mode == "async":
        ok = asyncio.run(send_async(api_url, api_key, batches, conc))
    elif mode == "threads":
        ok = send_threads(api_url, api_key, batches, conc)
    else:
        sys.exit("unknown mode " + mode)
    t3 = time.perf_counter()

    with open(times_file, "a") as f:
        f.write(json.dumps({"mode": mode, "commands": len(reqs), "ok": ok,
                            "import_s": t0 - t_start, "parse_s": t1 - t0,
                            "build_s": t2 - t1, "send_s": t3 - t2}) + "\n")
    if ok != len(reqs):
        print("python cent: only %d of %d publishes ok" % (ok, len(reqs)), file=sys.stderr)
        sys.exit(1)


def count_ok(result, n):
    # cent validates each reply against the publish result model; an error
    # reply ({"error": ...}) raises there, so reaching here means ok.
    if len(result.replies) != n:
        raise RuntimeError("expected %d replies, got %d" % (n, len(result.replies)))
    return n


async def send_async(api_url, api_key, batches, conc):
    client = AsyncClient(api_url=api_url, api_key=api_key)
    queue = list(reversed(batches))
    total = 0

    async def worker():
        nonlocal total
        while queue:
            b = queue.pop()
            res = await client.batch(BatchRequest(requests=b, parallel=False))
            total += count_ok(res, len(b))

    try:
        await asyncio.gather(*(worker() for _ in range(conc)))
    finally:
        await client.close()
    return total


def send_threads(api_url, api_key, batches, conc):
    lock = threading.Lock()
    queue = list(reversed(batches))
    totals = [0] * conc
    errors = []

    def worker(k):
        client = Client(api_url=api_url, api_key=api_key)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    b = queue.pop()
                res = client.batch(BatchRequest(requests=b, parallel=False))
                totals[k] += count_ok(res, len(b))
        except Exception as e:  # surfaced as a failed run below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(totals)


if __name__ == "__main__":
    main()
