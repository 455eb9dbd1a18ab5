"""Where webhooks may be sent (server-side request forgery rules), checked when an endpoint is
registered and again before every attempt, on the addresses the name resolves to then.

In production, loopback, link-local (cloud metadata at 169.254.169.254 among them), unspecified,
multicast and reserved addresses and the clouds' metadata addresses are always refused. Private
ranges and every other address that is not globally reachable (10/8, 172.16/12, 192.168/16,
100.64/10, fc00::/7, …; an IPv6 address carrying an IPv4 one, as 6to4, Teredo and NAT64 do, is
judged by both), where the province's and city's government networks live, are refused unless
SANJI_WEBHOOK_ALLOWED_NETWORKS lists them; outside those, URLs must be https. A request then goes
to the address that was checked (the name is kept for the Host header and TLS), so a name that
resolves elsewhere a moment later cannot redirect it; redirects are not followed. In dev mode
every address is allowed (receivers on the developer's machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from api.client_address import networks
from api.errors import DomainError
from api.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "fd20:ce::254")
)
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba Cloud's metadata is here
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL = 2000


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str  # as written (a name or an address)
    port: int
    addresses: tuple[Address, ...]  # what the host resolved to, every one allowed


def refused(message: str) -> DomainError:
    return DomainError("WEBHOOK_URL_REFUSED", message, field="url")


def parse(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a webhook URL, or VALIDATION_FAILED."""
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise DomainError("VALIDATION_FAILED", f"a webhook URL has 1 to {MAX_URL} characters", field="url")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):  # urlsplit drops some, httpx not
        raise DomainError(
            "VALIDATION_FAILED", "a webhook URL has no spaces or control characters", field="url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise DomainError("VALIDATION_FAILED", f"not a URL: {error}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError(
            "VALIDATION_FAILED", "a webhook URL is http:// or https:// with a host", field="url"
        )
    if parts.username is not None or parts.password is not None:
        raise DomainError(
            "VALIDATION_FAILED",
            "a webhook URL carries no user or password (requests are signed; credentials in URLs leak "
            "into logs)",
            field="url",
        )
    if parts.fragment:
        raise DomainError("VALIDATION_FAILED", "a webhook URL has no #fragment", field="url")
    if re.fullmatch(r"[0-9.]+|0x[0-9a-f.x]*", parts.hostname, re.IGNORECASE) and not _canonical_v4(
        parts.hostname
    ):
        raise DomainError(
            "VALIDATION_FAILED", f"{parts.hostname} is not an IPv4 address as written (a.b.c.d)", field="url"
        )
    try:
        URL(url)  # as the worker's client (aiohttp) reads it
    except (TypeError, ValueError) as error:
        raise DomainError("VALIDATION_FAILED", f"not a URL: {error}", field="url") from None
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def literal_address(url: str) -> bool:
    """Whether the URL's host is an IP address (not a name to resolve)."""
    try:
        ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return False
    return True


def _canonical_v4(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


async def check(url: str, settings: Settings) -> Destination:
    """The URL's destination when it may be sent to now, or WEBHOOK_URL_REFUSED (VALIDATION_FAILED
    for a malformed URL). The messages name the host, not the addresses it resolves to."""
    scheme, host, port = parse(url)
    addresses = await resolve(host, port)
    if not settings.is_production:
        return Destination(url.strip(), scheme, host, port, addresses)
    allowed = networks(settings.webhook_allowed_networks)
    for found in addresses:
        reason = refusal(found, allowed)
        if reason:
            raise refused(f"{host} resolves to {reason}")
        if scheme != "https" and not any(found in network for network in allowed):
            raise refused(f"{host} is on a public network: use https")
    return Destination(url.strip(), scheme, host, port, addresses)


def refusal(found: Address, allowed) -> str:
    """Why production refuses to send to this address ("" when it does not)."""
    reason = always_refused(found)
    if reason:
        return f"{reason}: never a webhook destination in production"
    if not _public(found) and not any(found in network for network in allowed):
        return "a private address: allowed only within SANJI_WEBHOOK_ALLOWED_NETWORKS (docs/events.md)"
    return ""


class CheckedResolver(AbstractResolver):
    """The worker's resolver (aiohttp asks it when it connects): in production every address a
    name resolves to is checked then, so what is connected to is what was checked, whatever the
    name resolved to a moment before. aiohttp keeps the name for the Host header, TLS and its pool
    of connections."""

    def __init__(self, settings: Settings, *, plain_http: bool = False) -> None:
        """`plain_http`: the resolver of http:// URLs, which go only to the allowed networks."""
        self.settings = settings
        self.allowed = networks(settings.webhook_allowed_networks)
        self.plain_http = plain_http
        self.inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.settings.is_production:
            for result in results:
                found = ipaddress.ip_address(result["host"])
                reason = refusal(found, self.allowed)
                if reason:
                    raise OSError(f"{host} resolves to {reason}")
                if self.plain_http and not any(found in network for network in self.allowed):
                    raise OSError(f"{host} is on a public network: use https")
        return results

    async def close(self) -> None:
        await self.inner.close()


def embedded(found: Address) -> list[Address]:
    """The address and any IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    out: list[Address] = [found]
    if isinstance(found, ipaddress.IPv6Address):
        if found.ipv4_mapped is not None:
            out.append(found.ipv4_mapped)
        if found.sixtofour is not None:
            out.append(found.sixtofour)
        if found.teredo is not None:
            out += list(found.teredo)
        if found in NAT64:
            out.append(ipaddress.IPv4Address(int(found) & 0xFFFFFFFF))
    return out


def always_refused(found: Address) -> str:
    """What an address is when it is never a destination in production, or ""."""
    for one in embedded(found):
        if _wrapper(one):
            continue  # judged by the IPv4 address it carries (next in the list)
        if one in METADATA:
            return "a cloud metadata address"
        if one.is_loopback:
            return "a loopback address"
        if one.is_link_local:
            return "a link-local address"
        if one.is_unspecified or one.is_multicast or one.is_reserved:
            return "an address that is not unicast"
    return ""


def _wrapper(found: Address) -> bool:
    """An IPv6 form of an IPv4 address (mapped, NAT64), judged by that address alone."""
    return isinstance(found, ipaddress.IPv6Address) and (found.ipv4_mapped is not None or found in NAT64)


def _public(found: Address) -> bool:
    """Globally reachable, and so is every IPv4 address it carries."""
    return all(
        _wrapper(one)
        or (
            one.is_global
            and one not in SHARED
            and not (isinstance(one, ipaddress.IPv6Address) and one.is_site_local)
        )
        for one in embedded(found)
    )


async def resolve(host: str, port: int) -> tuple[Address, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise refused(f"cannot resolve {host}: {error}") from None
    found = tuple(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not found:
        raise refused(f"{host} resolves to no address")
    return found
