"""A local image server on 127.0.0.1 with latency and faults on demand (tests and bench_fetch.py).

The path says what a URL does, so a URL list can mix faults in any proportion:

  /ok/N.jpg        image N (of the images given), after the configured latency
  /404/N.jpg       404 Not Found
  /503/N.jpg       503 Service Unavailable, always
  /flaky/N.jpg     503 on the first request for N, the image afterwards (a transient error)
  /corrupt/N.jpg   the first half of image N only (a truncated download), as image/jpeg
  /garbage/N.jpg   random bytes, as image/jpeg
  /html/N.jpg      an HTML page with status 200 (a non-image body)
  /stall/N.jpg     sleeps `stall_s` before answering (cut by the client's timeout)
  /noai/N.jpg      image N with X-Robots-Tag: noai
  /big/N.jpg       an endless stream of bytes without Content-Length
  /short/N.jpg     announces more bytes than it sends, then drops the connection
  /shortonce/N.jpg as /short on the first request for N, the image afterwards
  /limited/N.jpg?status=429&after=S   that status with Retry-After: S on the first request
                   for N (S may be an HTTP date), the image afterwards
  /trickle/N.jpg   the image one small chunk every `trickle_s` (a server slow per byte, never silent)
  /redirect/N.jpg?to=URL   302 to URL
  /loop/N.jpg      302 to itself, forever
  /robots.txt      `robots_txt` if given, else 404

Only ever binds 127.0.0.1. `hits` counts requests per path, `request_times` lists when each came.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

from aiohttp import web


class ImageServer:
    def __init__(
        self,
        images: list[bytes],
        latency_ms: tuple[float, float] = (0.0, 0.0),
        stall_s: float = 30.0,
        trickle_s: float = 0.2,
        robots_txt: str | None = None,
        seed: int = 0,
    ) -> None:
        self.images = images
        self.latency_ms = latency_ms
        self.stall_s = stall_s
        self.trickle_s = trickle_s
        self.request_times: dict[str, list[float]] = {}  # path -> time.monotonic() of every request
        self.robots_txt = robots_txt
        self.hits: Counter = Counter()
        self.first_seen: dict[str, float] = {}  # path -> time.monotonic() of its first request
        self.user_agents: Counter = Counter()
        self.in_flight = self.max_in_flight = 0  # requests being answered at once (per-host limit tests)
        self._random = random.Random(seed)
        self._flaky_seen: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> ImageServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="image-server", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("image server did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._loop is not None and self._thread is not None
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/robots.txt", self._robots)
        app.router.add_get("/{kind}/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        await self._runner.cleanup()
        # Handlers still sleeping (stalls) are cancelled, not left pending at loop close.
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    # ---- handlers ------------------------------------------------------------------------

    async def _robots(self, request: web.Request) -> web.Response:
        self.hits["/robots.txt"] += 1
        if self.robots_txt is None:
            return web.Response(status=404, text="no robots.txt")
        return web.Response(text=self.robots_txt, content_type="text/plain")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        kind, name = request.match_info["kind"], request.match_info["name"]
        self.hits[request.path] += 1
        self.first_seen.setdefault(request.path, time.monotonic())
        self.request_times.setdefault(request.path, []).append(time.monotonic())
        self.user_agents[request.headers.get("User-Agent", "")] += 1
        low, high = self.latency_ms
        if high > 0:
            await asyncio.sleep(self._random.uniform(low, high) / 1000)
        number = int(name.split(".")[0]) if name.split(".")[0].isdigit() else 0
        image = self.images[number % len(self.images)]
        if kind == "ok":
            return web.Response(body=image, content_type="image/jpeg")
        if kind == "404":
            return web.Response(status=404, text="not found")
        if kind == "503":
            return web.Response(status=503, text="unavailable")
        if kind == "flaky":
            if request.path not in self._flaky_seen:
                self._flaky_seen.add(request.path)
                return web.Response(status=503, text="try again")
            return web.Response(body=image, content_type="image/jpeg")
        if kind == "corrupt":
            return web.Response(body=image[: len(image) // 2], content_type="image/jpeg")
        if kind == "garbage":
            return web.Response(body=random.Random(number).randbytes(4096), content_type="image/jpeg")
        if kind == "html":
            return web.Response(text="<!DOCTYPE html><html><body>Not an image</body></html>", content_type="text/html")
        if kind == "stall":
            await asyncio.sleep(self.stall_s)
            return web.Response(body=image, content_type="image/jpeg")
        if kind == "noai":
            return web.Response(body=image, content_type="image/jpeg", headers={"X-Robots-Tag": "noai"})
        if kind == "big":
            response = web.StreamResponse()
            response.content_type = "image/jpeg"
            await response.prepare(request)
            block = b"\xff" * 65536
            try:
                for _ in range(10_000):  # bounded: 640 MB at most, the client stops long before
                    await response.write(block)
            except (ConnectionError, RuntimeError):
                pass
            return response
        if kind == "short":
            response = web.StreamResponse(headers={"Content-Length": str(len(image) + 1000)})
            response.content_type = "image/jpeg"
            await response.prepare(request)
            await response.write(image[:1000])
            request.transport.close()  # the connection drops mid-body
            return response
        if kind == "shortonce" and request.path not in self._flaky_seen:
            self._flaky_seen.add(request.path)
            response = web.StreamResponse(headers={"Content-Length": str(len(image) + 1000)})
            response.content_type = "image/jpeg"
            await response.prepare(request)
            await response.write(image[:1000])
            request.transport.close()
            return response
        if kind == "shortonce":
            return web.Response(body=image, content_type="image/jpeg")
        if kind == "limited":
            if request.path not in self._flaky_seen:
                self._flaky_seen.add(request.path)
                headers = {"Retry-After": request.query["after"]} if "after" in request.query else {}
                return web.Response(status=int(request.query.get("status", "429")), text="slow down", headers=headers)
            return web.Response(body=image, content_type="image/jpeg")
        if kind == "trickle":
            response = web.StreamResponse(headers={"Content-Length": str(len(image))})
            response.content_type = "image/jpeg"
            await response.prepare(request)
            try:
                for start in range(0, len(image), 256):
                    await response.write(image[start:start + 256])
                    await asyncio.sleep(self.trickle_s)
            except (ConnectionError, RuntimeError):
                pass
            return response
        if kind == "redirect":
            raise web.HTTPFound(request.query.get("to", "/ok/0.jpg"))
        if kind == "loop":
            raise web.HTTPFound(request.path)
        return web.Response(status=400, text=f"unknown kind {kind}")
