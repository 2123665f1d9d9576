"""A local stand-in for Wikimedia Commons' api.php, answering generator=search + imageinfo
requests in the Action API's JSON format (formatversion=2), with scripted faults.

Shapes follow the API documentation: results under query.pages as a list (formatversion 2; not
in rank order, each page carries its search rank as `index`), imageinfo[0] with url,
descriptionurl, size, mime and extmetadata {Name: {"value": ..., "source": ..., "hidden": ""}},
multilingual values as {"en": ..., "_type": "lang"} (iiextmetadatamultilang), paging through
{"continue": {"gsroffset": N, "continue": "gsroffset||"}}, a search without hits as
{"batchcomplete": true}, and the maxlag error as HTTP 200 with
{"error": {"code": "maxlag", "info": "Waiting for host: 7 seconds lagged", "host": ..., "lag": 7}}
plus Retry-After and X-Database-Lag headers.

Binds to 127.0.0.1 only and runs on its own thread, so both asyncio tests and Beam pipelines
can use it. Every request is logged with its arrival time (time.monotonic) for rate checks.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field

from aiohttp import web


def make_file(name: str, *, description=None, license_name="CC BY-SA 4.0", artist='<a href="//commons.example/wiki/User:Jane">Jane Doe</a>',
              mime="image/jpeg", object_name=None, imageinfo=True) -> dict:
    """One search result (a File: page) as the API returns it."""
    title = f"File:{name}.jpg"
    page = {"ns": 6, "title": title, "pageid": zlib.crc32(name.encode()) % 10_000_000}
    if not imageinfo:
        return page
    extmetadata = {
        "ObjectName": {"value": object_name if object_name is not None else name, "source": "mediawiki-metadata", "hidden": ""},
        "Artist": {"value": artist, "source": "commons-desc-page"},
        "Credit": {"value": '<span class="int-own-work" lang="en">Own work</span>', "source": "commons-desc-page", "hidden": ""},
        "LicenseUrl": {"value": "https://creativecommons.org/licenses/by-sa/4.0", "source": "commons-desc-page", "hidden": ""},
        "AttributionRequired": {"value": "true", "source": "commons-desc-page", "hidden": ""},
    }
    if license_name is not None:
        extmetadata["LicenseShortName"] = {"value": license_name, "source": "commons-desc-page", "hidden": ""}
    if description is not None:
        extmetadata["ImageDescription"] = {"value": description, "source": "commons-desc-page"}
    page["imageinfo"] = [{
        "size": 123456, "width": 1024, "height": 768,
        "url": f"https://upload.example.org/commons/{name.replace(' ', '_')}.jpg",
        "descriptionurl": f"https://commons.example.org/wiki/{title.replace(' ', '_')}",
        "descriptionshorturl": "https://commons.example.org/w/index.php?curid=1",
        "mime": mime,
        "extmetadata": extmetadata,
    }]
    return page


def query_files(query: str, n: int, **kwargs) -> list[dict]:
    """n distinct files whose English description contains the query."""
    return [
        make_file(f"{query} {i}", description={"en": f"<p>A <b>{query}</b> number {i} &amp; friends</p>", "de": f"Ein {query} {i}", "_type": "lang"}, **kwargs)
        for i in range(n)
    ]


@dataclass
class Hit:
    at: float
    params: dict
    user_agent: str


@dataclass
class FakeCommons:
    """corpus: search key -> result pages; faults: search key -> list of actions, one consumed
    per request of that key before normal answers resume ("maxlag", "429", "500",
    "garbage", "empty_body", "hang", "badvalue", "not_object"). A key whose fault list is
    ["always:500"] (etc.) fails forever."""

    corpus: dict = field(default_factory=dict)
    faults: dict = field(default_factory=dict)
    retry_after: str = "1"
    hang_s: float = 30.0
    hits: list = field(default_factory=list)

    def search_key(self, params: dict) -> str:
        terms = params.get("gsrsearch", "")
        terms = re.sub(r"\s*filetype:\S+", "", terms)
        return terms.strip().strip('"')

    async def handle(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        self.hits.append(Hit(time.monotonic(), params, request.headers.get("User-Agent", "")))
        key = self.search_key(params)
        actions = self.faults.get(key, [])
        action = None
        if actions:
            action = actions[0]
            if action.startswith("always:"):
                action = action[len("always:"):]
            else:
                actions.pop(0)
        if action == "maxlag":
            body = {"error": {"code": "maxlag", "info": "Waiting for db1: 7 seconds lagged", "host": "db1", "lag": 7,
                              "*": "See https://commons.example.org/w/api.php for API usage."}}
            return web.json_response(body, headers={"Retry-After": self.retry_after, "X-Database-Lag": "7", "MediaWiki-API-Error": "maxlag"})
        if action == "429":
            return web.Response(status=429, text="Too many requests", headers={"Retry-After": self.retry_after})
        if action == "500":
            return web.Response(status=500, text="<html>Internal error</html>", content_type="text/html")
        if action == "garbage":
            return web.Response(status=200, text='{"batchcomplete": true, "query": {"pages": [', content_type="application/json")
        if action == "empty_body":
            return web.Response(status=200, body=b"", content_type="application/json")
        if action == "not_object":
            return web.Response(status=200, text='["not", "an", "object"]', content_type="application/json")
        if action == "badvalue":
            body = {"error": {"code": "badvalue", "info": 'Unrecognized value for parameter "gsrnamespace".'}}
            return web.json_response(body, headers={"MediaWiki-API-Error": "badvalue"})
        if action == "hang":
            await asyncio.sleep(self.hang_s)
        return web.json_response(self.search_response(key, params))

    def search_response(self, key: str, params: dict) -> dict:
        files = self.corpus.get(key, [])
        offset = int(params.get("gsroffset", 0))
        limit = int(params.get("gsrlimit", 10))
        chunk = files[offset:offset + limit]
        if not chunk:
            return {"batchcomplete": True}
        pages = []
        for rank, page in enumerate(chunk, start=offset + 1):
            page = json.loads(json.dumps(page))
            page["index"] = rank
            pages.append(page)
        pages.sort(key=lambda p: p["pageid"])  # formatversion 2 lists pages by id, not by rank
        body = {"batchcomplete": True, "query": {"pages": pages}}
        if offset + limit < len(files):
            body["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        return body

    def hits_for(self, key: str) -> list[Hit]:
        return [hit for hit in self.hits if self.search_key(hit.params) == key]


class ServerThread:
    """Runs an aiohttp app on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, fake: FakeCommons) -> None:
        self.fake = fake
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/w/api.php", self.fake.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/w/api.php"

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _stop(self) -> None:
        await self._runner.cleanup()
        # Handlers still sleeping (the "hang" fault) are cancelled, not left pending.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def __exit__(self, *exc_info) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
