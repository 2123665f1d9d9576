"""Which network addresses the fetcher may connect to.

A crawler that follows URLs found on the web must not become a way into the network it runs
in: a page can point an <img> (or a redirect) at 127.0.0.1, at 10.0.0.0/8, or at the cloud
metadata service on 169.254.169.254 that hands out credentials. So every address is checked
after DNS resolution (a public-looking name can resolve to 127.0.0.1) and again on every
redirect hop, because the fetcher follows redirects itself.

Two places enforce it:
- `check_host` refuses a URL's host when it is an IP literal, before any connection (aiohttp
  does not call the resolver for them);
- `SafeResolver` wraps aiohttp's resolver and removes refused addresses from every answer, so
  the connector can only ever connect to an allowed address.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver

# Cloud instance-metadata endpoints, named in the refusal message because they are the target
# that matters most (credentials). All are also non-global, so the general rule refuses them.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)


class RefusedAddressError(OSError):
    """The URL's host is, or resolves only to, an address the policy refuses."""


@dataclass(frozen=True)
class AddressPolicy:
    """Refuse every address that is not globally routable, unless allowed.

    allow_private: allow everything (an internal crawl); allowed_networks: allow only these
    networks on top of the public internet (tests allow 127.0.0.1/32 and nothing else).
    """

    allow_private: bool = False
    allowed_networks: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        except ValueError as exc:
            from wit.core.errors import WitError

            raise WitError(f"--allow-address: {exc}") from exc
        object.__setattr__(self, "_networks", networks)

    def refusal(self, address: str) -> str | None:
        """None when `address` may be contacted, else why not (for the sample's error message)."""
        return _remembered_refusal(address, self)

    def _judge(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            return f"not an IP address: {address!r}"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allow_private or any(ip in net for net in self._networks):  # type: ignore[attr-defined]
            return None
        kind = address_kind(ip)
        return None if kind is None else f"refused {kind} address {ip}"


def address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The class of a non-public address ("loopback", "private", ...), None for a public one."""
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


@functools.lru_cache(maxsize=1 << 16)
def _remembered_refusal(address: str, policy: AddressPolicy) -> str | None:
    # Every resolve, cached answers included, passes each address through the policy: parse
    # each address once, not on every request to its host.
    return policy._judge(address)


@functools.lru_cache(maxsize=1 << 16)
def check_host(host: str, policy: AddressPolicy) -> str | None:
    """Refusal reason for a URL's host when it is an IP literal; None for names (the resolver
    checks those). Remembered: a crawl meets the same hosts (CDNs, image hosts) thousands of
    times, and parsing the address is most of the check."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return policy.refusal(host)


class SafeResolver(AbstractResolver):
    """aiohttp resolver that answers only with addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):  # type: ignore[override]
        answers = await self.inner.resolve(host, port, family)
        allowed = [a for a in answers if self.policy.refusal(a["host"]) is None]
        if not allowed:
            reasons = sorted({self.policy.refusal(a["host"]) or "" for a in answers})
            raise RefusedAddressError(f"{host} resolves to {'; '.join(reasons)}")
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def find_refusal(exc: BaseException) -> RefusedAddressError | None:
    """The RefusedAddressError behind an aiohttp connection error, if that is what it was."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, RefusedAddressError):
            return exc
        exc = getattr(exc, "os_error", None) or exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return None
