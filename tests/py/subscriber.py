"""A real WebSocket subscriber (centrifuge-python SDK) for the tests.

usage: subscriber.py WS_URL CONNECT_TOKEN EXPECTED TIMEOUT_S SUBS_JSON
SUBS_JSON: [{"channel": "...", "token": "..."}]  (token only for private channels)
Prints READY once every subscription is active, then one JSON object
{channel: [data, ...]} with everything received (waits a little after the
expected count so doubles would show).
"""
import asyncio
import json
import sys

from centrifuge import Client, SubscriptionEventHandler


async def main() -> None:
    url, token, expected, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    subs = json.loads(sys.argv[5])
    got = {s["channel"]: [] for s in subs}
    done = asyncio.Event()

    class Handler(SubscriptionEventHandler):
        def __init__(self, channel: str) -> None:
            self.channel = channel

        async def on_publication(self, ctx) -> None:
            got[self.channel].append(ctx.pub.data)
            if sum(len(v) for v in got.values()) >= expected:
                done.set()

    client = Client(url, token=token, proxy=None)
    await client.connect()
    await client.ready(timeout=10)
    for s in subs:
        sub = client.new_subscription(s["channel"], events=Handler(s["channel"]), token=s.get("token", ""))
        await sub.subscribe()
        await sub.ready(timeout=10)
    print("READY", flush=True)
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.5)
    print(json.dumps(got), flush=True)
    await client.disconnect()


asyncio.run(main())
