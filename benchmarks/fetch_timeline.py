"""Where `wit fetch`'s wall time goes: a per-URL timeline, and what the download slots hold.

    python benchmarks/fetch_timeline.py fetch ARGS...       # `wit fetch ARGS`, timed per URL
    python benchmarks/fetch_timeline.py --report PREFIX     # the tables, from the files written

`bench_fetch_web.py --timeline` runs `wit fetch` so. Run as a script, this module wraps the
fetch stage's functions (from outside: the product is unchanged) in every process of the run
(spawned fetch workers import it again as their main module) and writes, per process,
`$WIT_TIMELINE.<pid>` (jsonl): one line per URL with the times (seconds since the run started)
of its events (start: it was admitted, or took a download slot; ahead / ahead_end: its name
looked up before it takes a slot; in_slot: it has the slot; dns / dns_end; aiohttp's connection queue,
connect, headers sent, headers received; each attempt's end and reason; each wait for a retry or
a paused host, parked or holding the slot; the wait for the decode budget; end: its status),
then one line of the process's CPU clock every 0.5 s, each decode's wall and CPU time, and the
cyclic collector's runs and CPU time.
With WIT_TIMELINE_NO_DECODE=1 every decode is free (`_without_decoding`): the network's floor.

The report splits each URL's life into states and adds them up per 2 s window: the slots taken
by DNS, connecting, waiting for the first byte, reading, waiting for the decode budget
(downloads still hold their slot there), and, apart from the slots, the lookups made ahead,
the URLs waiting for a slot, those parked for a retry and the bodies waiting for or in the
decoder (the decode backlog), with the URLs finished
and the cores busy per process. A run whose decode backlog stays in the thousands is CPU-bound
(the downloads are ahead of the decoders); one whose slots are all taken and backlog empty is
bound by the network and the slots.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict

WINDOW_S = 2.0
CPU_EVERY_S = 0.5
# States that hold one of the --concurrency download slots (fetch_image holds its slot from the
# start until the body is in and has its decode budget, except while parked for a retry).
SLOT_STATES = ("dns", "connect_queue", "connect", "first_byte", "body", "decode_budget", "retry_wait_holding", "other_in_slot")
OTHER_STATES = ("dns_ahead", "slot_wait", "retry_wait_parked", "decode_backlog")


def _without_decoding(body: bytes, options):
    """The network's floor (WIT_TIMELINE_NO_DECODE=1, `bench_fetch_web.py --no-decode`): a body
    that starts as a JPEG or PNG does is "stored" as one fixed pixel, anything else rejected,
    at no CPU cost. Not a product path: the shards hold no real images."""
    from wit.pipeline.images import ImageRejected, StoredImage

    if not (body.startswith(b"\xff\xd8") or body.startswith(b"\x89PNG")):
        raise ImageRejected("failed_to_decode", "not a JPEG or PNG (checked by its first bytes only)")
    pixel = _one_pixel_jpeg()
    return StoredImage(data=pixel, width=1, height=1, original_width=1, original_height=1,
                       sha256=hashlib.sha256(pixel).hexdigest())


@functools.cache
def _one_pixel_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "JPEG")
    return buffer.getvalue()


def install(prefix: str) -> None:
    """Wrap the fetch stage's functions in this process; write `prefix.<pid>` at exit."""
    import asyncio  # noqa: F401 - the loop's module, before aiohttp
    import atexit

    import aiohttp

    import wit.pipeline.fetch as fetch
    import wit.pipeline.resolver as resolver

    started = float(os.environ.setdefault("WIT_TIMELINE_T0", str(time.monotonic())))
    out = open(f"{prefix}.{os.getpid()}", "w")
    current: contextvars.ContextVar = contextvars.ContextVar("wit_timeline_url", default=None)
    decodes: list = []
    cpu: list = []

    def now() -> float:
        return round(time.monotonic() - started, 4)

    def event(kind: str, **detail) -> None:
        record = current.get()
        if record is not None:
            record["events"].append([now(), kind, detail] if detail else [now(), kind])

    fetch_image = fetch.fetch_image

    async def timed_fetch_image(fetcher, url, downloading, decoding, decoder, options, admitted=None):
        record = {"url": url, "events": [[now(), "start"]], "admitted": admitted is not None}
        current.set(record)  # each URL runs in its own task, with its own context
        try:
            result = await fetch_image(fetcher, url, downloading, decoding, decoder, options, admitted)
        finally:
            record["events"].append([now(), "end"])
        record["status"] = result[0]
        out.write(json.dumps(record) + "\n")
        return result

    fetch.fetch_image = timed_fetch_image

    attempt = fetch.Fetcher._attempt

    async def timed_attempt(self, url, limit):
        event("attempt")
        download = await attempt(self, url, limit)
        event("attempt_end", reason=download.reason or download.status)
        return download

    fetch.Fetcher._attempt = timed_attempt

    wait = fetch.Fetcher._wait

    async def timed_wait(self, delay, slot, url="", admission=None):
        event("wait", parked=self.can_park(slot))
        try:
            return await wait(self, delay, slot, url, admission)
        finally:
            event("wait_end")

    fetch.Fetcher._wait = timed_wait

    resolve_ahead = fetch.Fetcher.resolve_ahead

    async def timed_resolve_ahead(self, url):
        event("ahead")
        try:
            return await resolve_ahead(self, url)
        finally:
            event("ahead_end")

    fetch.Fetcher.resolve_ahead = timed_resolve_ahead

    fetch_once = fetch.Fetcher.fetch

    async def timed_fetch(self, url, slot=None, looked_up=None, admission=None):
        event("in_slot")
        return await fetch_once(self, url, slot, looked_up, admission)

    fetch.Fetcher.fetch = timed_fetch

    process_image = _without_decoding if os.environ.get("WIT_TIMELINE_NO_DECODE") else fetch.process_image

    def timed_process_image(body, options):
        wall, clock = now(), time.thread_time()
        try:
            return process_image(body, options)
        finally:
            decodes.append((wall, now(), time.thread_time() - clock))

    fetch.process_image = timed_process_image

    acquire = fetch.ByteBudget.acquire

    async def timed_acquire(self, n):
        event("budget")
        await acquire(self, n)
        event("budget_end")

    fetch.ByteBudget.acquire = timed_acquire

    resolve = resolver.CachingResolver.resolve

    async def timed_resolve(self, host, port=0, family=0):
        event("dns")
        try:
            return await resolve(self, host, port, family)
        finally:
            event("dns_end")

    resolver.CachingResolver.resolve = timed_resolve

    def traced(name):
        async def handler(_session, _context, _params):
            event(name)
        return handler

    session_init = aiohttp.ClientSession.__init__

    def traced_session_init(self, *args, **kwargs):
        config = aiohttp.TraceConfig()
        for name in ("on_connection_queued_start", "on_connection_queued_end", "on_connection_create_start",
                     "on_connection_create_end", "on_connection_reuseconn", "on_request_headers_sent", "on_request_end"):
            getattr(config, name).append(traced(name))
        kwargs["trace_configs"] = [*(kwargs.get("trace_configs") or []), config]
        session_init(self, *args, **kwargs)

    aiohttp.ClientSession.__init__ = traced_session_init

    def sample_cpu() -> None:
        while True:
            times = os.times()
            cpu.append((now(), times.user + times.system))
            time.sleep(CPU_EVERY_S)

    threading.Thread(target=sample_cpu, name="timeline-cpu", daemon=True).start()

    collector = {"collections": 0, "cpu_s": 0.0}  # the cyclic collector's runs and CPU time
    collection_started = [0.0]

    def time_collection(phase: str, info: dict) -> None:
        if phase == "start":
            collection_started[0] = time.thread_time()
        else:
            collector["collections"] += 1
            collector["cpu_s"] += time.thread_time() - collection_started[0]

    gc.callbacks.append(time_collection)

    @atexit.register
    def write_clocks() -> None:
        if out.closed:
            return
        times = os.times()
        cpu.append((now(), times.user + times.system))
        out.write(json.dumps({"pid": os.getpid(), "cpu": cpu, "decodes": decodes, "collector": collector}) + "\n")
        out.close()

    # The fetch workers end with os._exit (no interpreter teardown, no exit handlers).
    exit_now = os._exit

    def exit_after_writing(code: int) -> None:
        write_clocks()
        exit_now(code)

    os._exit = exit_after_writing


# ---- the report ------------------------------------------------------------------------------

_NEXT_STATE = {
    "attempt": "other_in_slot", "dns": "dns", "dns_end": "connect", "on_connection_queued_start": "connect_queue",
    "on_connection_queued_end": "other_in_slot", "on_connection_create_start": "connect",
    "on_connection_create_end": "other_in_slot", "on_connection_reuseconn": "other_in_slot",
    "on_request_headers_sent": "first_byte", "on_request_end": "body", "attempt_end": "other_in_slot",
    "wait_end": "other_in_slot", "budget": "decode_budget", "budget_end": "decode_backlog",
}


def load(prefix: str) -> tuple[list[dict], list[dict]]:
    import glob

    urls, clocks = [], []
    for path in sorted(glob.glob(f"{prefix}.*")):
        with open(path) as lines:
            for line in lines:
                record = json.loads(line)
                (clocks if "cpu" in record else urls).append(record)
    return urls, clocks


def report(prefix: str) -> dict:
    urls, clocks = load(prefix)
    if not urls:
        raise SystemExit(f"fetch_timeline: no URL timeline under {prefix}.*")
    end = max(url["events"][-1][0] for url in urls)
    windows = int(end / WINDOW_S) + 1
    held = defaultdict(lambda: [0.0] * windows)  # state -> URL-seconds per window
    totals: Counter = Counter()
    finished = [0] * windows
    reasons: Counter = Counter()

    def add(state: str, start: float, stop: float) -> None:
        totals[state] += stop - start
        moment = start
        while moment < stop:
            index = int(moment / WINDOW_S)
            edge = min(stop, (index + 1) * WINDOW_S)
            held[state][index] += edge - moment
            moment = edge

    for url in urls:
        events = url["events"]
        # An admitted URL looks its name up ahead and then waits for its slot (fetch_image).
        state, since = ("slot_wait" if url.get("admitted") else "other_in_slot"), events[0][0]
        ahead = False
        for moment, kind, *detail in events[1:]:
            add(state, since, moment)
            since = moment
            if kind == "ahead":
                ahead, state = True, "dns_ahead"
            elif kind == "ahead_end":
                ahead, state = False, "slot_wait"
            elif ahead:
                continue  # the lookup's own events, outside any slot
            elif kind == "in_slot":
                state = "other_in_slot"
            elif kind == "wait":
                state = "retry_wait_parked" if detail and detail[0].get("parked") else "retry_wait_holding"
            elif kind == "wait_end":
                state = "other_in_slot"
            elif kind == "attempt_end":
                reasons[detail[0]["reason"] if detail else "?"] += 1
                state = "other_in_slot"
            else:
                state = _NEXT_STATE.get(kind, state)
        finished[min(int(events[-1][0] / WINDOW_S), windows - 1)] += 1

    processes = []
    for clock in clocks:
        samples = clock["cpu"]
        decode_cpu = sum(d[2] for d in clock["decodes"])
        processes.append({"pid": clock["pid"], "cpu_s": round(samples[-1][1], 2), "decodes": len(clock["decodes"]),
                          "decode_cpu_s": round(decode_cpu, 2),
                          "decode_cpu_ms_each": round(1000 * decode_cpu / max(1, len(clock["decodes"])), 2),
                          "collections": clock.get("collector", {}).get("collections", 0),
                          "collector_cpu_s": round(clock.get("collector", {}).get("cpu_s", 0.0), 2)})
    busy = [0.0] * windows
    for clock in clocks:
        samples = clock["cpu"]
        for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
            if t1 > t0:
                busy[min(int(t0 / WINDOW_S), windows - 1)] += (c1 - c0)
    starts = sorted(url["events"][0][0] for url in urls)
    downloads_done = [e[0] for url in urls for e in url["events"] if e[1] == "budget_end"]

    print(f"{len(urls):,} URLs: first started at {starts[0]:.2f} s, last at {starts[-1]:.2f} s, last body in at "
          f"{max(downloads_done, default=0):.2f} s, last finished at {end:.2f} s (from the first process's start)")
    print("\nURL-seconds by state (the first", len(SLOT_STATES), "hold a download slot):")
    for state in (*SLOT_STATES, *OTHER_STATES):
        print(f"  {state:20} {totals[state]:10.1f}")
    print("\nattempt outcomes: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    print("\nper process: " + "; ".join(f"pid {p['pid']}: {p['cpu_s']} CPU s, {p['decodes']} decodes, {p['decode_cpu_s']} "
                                         f"CPU s decoding ({p['decode_cpu_ms_each']} ms each), cyclic collector "
                                         f"{p['collections']} runs, {p['collector_cpu_s']} CPU s" for p in processes))
    shown = [s for s in (*SLOT_STATES, *OTHER_STATES) if totals[s] > 0]
    print(f"\nmean URLs per state in each {WINDOW_S:g} s window, URLs finished and cores busy (all of wit's processes):")
    print(f"{'t s':>5} {'done':>5} {'cores':>5} " + " ".join(f"{s[:13]:>13}" for s in shown))
    for index in range(windows):
        print(f"{index * WINDOW_S:5.0f} {finished[index]:5d} {busy[index] / WINDOW_S:5.2f} "
              + " ".join(f"{held[s][index] / WINDOW_S:13.0f}" for s in shown))
    summary = {"urls": len(urls), "last_start_s": starts[-1], "last_body_s": max(downloads_done, default=0), "end_s": end,
               "url_seconds": {s: round(totals[s], 1) for s in (*SLOT_STATES, *OTHER_STATES)},
               "slot_seconds": round(sum(totals[s] for s in SLOT_STATES), 1), "processes": processes,
               "cpu_s": round(sum(p["cpu_s"] for p in processes), 2),
               "decode_cpu_s": round(sum(p["decode_cpu_s"] for p in processes), 2)}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__" and sys.argv[1:2] == ["--report"]:
    report(sys.argv[2])
elif __name__ in ("__main__", "__mp_main__"):
    # `wit fetch` under the timeline: here, and again in each spawned worker (as __mp_main__).
    install(os.environ["WIT_TIMELINE"])
    if __name__ == "__main__":
        from wit.app.cli import main

        sys.exit(main(sys.argv[1:]))
