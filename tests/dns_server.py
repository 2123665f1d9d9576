"""A local DNS server with per-name latency and faults (tests and benchmarks/bench_fetch_web.py).

Answers A queries from a table of names. Each name says what it does:

  Name(addresses=["127.1.0.5"])              an A answer (TTL `ttl`)
  Name(addresses=[...], latency_s=0.05)      the same answer, sent after 50 ms
  Name(fault="servfail")                     SERVFAIL (a transient failure)
  Name(fault="nxdomain")                     NXDOMAIN (the name does not exist: permanent)
  Name(fault="timeout")                      no reply at all (the client's lookup times out)
  Name(fault="noanswer")                     NOERROR with no records

A name not in the table gets NXDOMAIN; AAAA and other types get NOERROR with no records (the
fetcher must then fall back to A). Packets are parsed and built with dnslib; the server itself
is an asyncio datagram endpoint on its own thread, so a delayed reply never holds up others.

Only ever binds the address it is given: 127.0.0.1 by default (inside a private network
namespace the benchmark binds 127.0.0.1:53, which that namespace's resolv.conf names).
`queries` counts questions per name, for cache tests; `on_query` is the hook a subclass extends
to count more.

A reply depends only on the query's bytes after its 2-byte id (and the name's entry), so the packed
reply is kept per query and later ones are answered by patching the id in: no parse or pack per packet. That keeps
the server cheap enough that, at thousands of lookups per second, it is not what a benchmark
measures.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

FAULTS = ("servfail", "nxdomain", "timeout", "noanswer")


@dataclass(frozen=True)
class Name:
    addresses: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    fault: str | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown DNS fault {self.fault!r}; one of {FAULTS}")


class DnsServer:
    def __init__(self, names: dict[str, Name], host: str = "127.0.0.1", port: int = 0, ttl: int = 300) -> None:
        self.names = {n.lower().rstrip("."): spec for n, spec in names.items()}
        self.host = host
        self.port = port
        self.ttl = ttl
        self.queries: Counter = Counter()
        self.replies_sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> DnsServer:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the caller of __enter__
                failure.append(exc)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="dns-server", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def __exit__(self, *exc_info) -> None:
        if self._loop is not None and self._transport is not None:
            self._loop.call_soon_threadsafe(self._transport.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, self.port)
        )
        self.port = self._transport.get_extra_info("sockname")[1]

    @property
    def address(self) -> str:
        """host:port, as c-ares (aiodns) takes a name server."""
        return f"{self.host}:{self.port}"

    # ---- answering -----------------------------------------------------------------------

    def on_query(self, name: str, qtype: int, delay: float, answered: bool) -> None:
        """Called for every question received (on the server's event loop)."""
        self.queries[name] += 1

    def reply_for(self, request: DNSRecord) -> tuple[DNSRecord | None, float]:
        """The reply to send (None: stay silent) and how long to wait before sending it."""
        question = request.q
        name = str(question.qname).lower().rstrip(".")
        reply = request.reply()
        spec = self.names.get(name)
        if spec is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply, 0.0
        if spec.fault == "timeout":
            return None, 0.0
        if spec.fault == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif spec.fault == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        elif spec.fault is None and question.qtype == QTYPE.A:
            for address in spec.addresses:
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(address), ttl=self.ttl))
        return reply, spec.latency_s


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        # query bytes after the id -> (name, qtype, reply bytes after the id or None, delay, the
        # name's entry the reply was made from)
        self.replies: dict[bytes, tuple] = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        known = self.replies.get(data[2:])
        if known is not None and self.server.names.get(known[0]) is not known[4]:
            known = None  # the name's entry was replaced (a test changing the DNS mid-run)
        if known is None:
            try:
                request = DNSRecord.parse(data)
            except Exception:  # a malformed packet: a real server drops it too
                return
            reply, delay = self.server.reply_for(request)
            name = str(request.q.qname).lower().rstrip(".")
            spec = self.server.names.get(name)
            known = (name, request.q.qtype, None if reply is None else reply.pack()[2:], delay, spec)
            if len(self.replies) < 1_000_000:
                self.replies[data[2:]] = known
        name, qtype, tail, delay, _ = known
        self.server.on_query(name, qtype, delay, tail is not None)
        if tail is None:
            return
        packet = data[:2] + tail
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._send, packet, addr)
        else:
            self._send(packet, addr)

    def _send(self, packet: bytes, addr) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(packet, addr)
            self.server.replies_sent += 1
