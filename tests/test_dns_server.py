"""The local DNS server the fetch tests and the web-like benchmark resolve against."""

from __future__ import annotations

import socket
import time

import pytest
from dnslib import RCODE, DNSRecord

from dns_server import DnsServer, Name


def ask(server: DnsServer, name: str, qtype: str = "A", timeout: float = 1.0) -> DNSRecord | None:
    question = DNSRecord.question(name, qtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(question.pack(), (server.host, server.port))
        try:
            reply = DNSRecord.parse(sock.recv(4096))
        except socket.timeout:
            return None
    assert reply.header.id == question.header.id  # a reply answered from the cache carries the new id
    return reply


def test_answers_faults_and_counts():
    names = {
        "a.test": Name(addresses=["127.1.0.5", "127.1.0.6"]),
        "slow.test": Name(addresses=["127.1.0.7"], latency_s=0.3),
        "fail.test": Name(fault="servfail"),
        "gone.test": Name(fault="nxdomain"),
        "silent.test": Name(fault="timeout"),
        "empty.test": Name(fault="noanswer"),
    }
    with DnsServer(names) as server:
        reply = ask(server, "A.test.")
        assert sorted(str(rr.rdata) for rr in reply.rr) == ["127.1.0.5", "127.1.0.6"]
        assert ask(server, "a.test", "AAAA").rr == []
        started = time.monotonic()
        assert [str(rr.rdata) for rr in ask(server, "slow.test").rr] == ["127.1.0.7"]
        assert time.monotonic() - started >= 0.25
        assert ask(server, "fail.test").header.rcode == RCODE.SERVFAIL
        assert ask(server, "gone.test").header.rcode == RCODE.NXDOMAIN
        assert ask(server, "unknown.test").header.rcode == RCODE.NXDOMAIN
        assert ask(server, "silent.test", timeout=0.3) is None
        empty = ask(server, "empty.test")
        assert empty.header.rcode == RCODE.NOERROR and empty.rr == []
        assert ask(server, "silent.test", timeout=0.3) is None
        for _ in range(3):  # the same question again: answered from the packed replies, counted each time
            assert [str(rr.rdata) for rr in ask(server, "slow.test").rr] == ["127.1.0.7"]
        assert ask(server, "fail.test").header.rcode == RCODE.SERVFAIL
        assert server.queries["a.test"] == 2 and server.queries["silent.test"] == 2
        assert server.queries["slow.test"] == 4 and server.queries["fail.test"] == 2
        server.names["fail.test"] = Name(addresses=["127.1.0.9"])  # a name's entry replaced: no stale reply
        assert [str(rr.rdata) for rr in ask(server, "fail.test").rr] == ["127.1.0.9"]


def test_rejects_unknown_fault():
    with pytest.raises(ValueError, match="unknown DNS fault"):
        Name(fault="teapot")
