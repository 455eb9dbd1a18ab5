"""Whose address a request comes from, when a proxy or the admin UI stands between the person and the API.

Rate limits, sign-in lockouts and the audit log count by the client's address. The TCP peer is
the client unless it is a configured proxy (SANJI_TRUSTED_PROXIES), whose X-Forwarded-For then
names it; or unless the request carries the admin UI's `X-Sanji-Client` header, which names the
address of the person at the browser, signed with the UI client key (SANJI_UI_CLIENT_KEY, which
the API and the UI share and which signs nothing else), so that no one but the UI can claim an
address. No ORM here: the admin UI signs with it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable

HEADER = "X-Sanji-Client"
MAX_AGE_SECONDS = 120  # a claim signed longer ago (or ahead) than this is refused
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]+)\](?::\d+)?|(?P<v4>[\d.]+):\d+")  # [v6]:port, v4:port


class BadClaim(ValueError):
    """An X-Sanji-Client header that this installation's admin UI did not sign (or not lately)."""


def networks(entries: Iterable[str]) -> Networks:
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/24`, `::1`); ValueError names a bad one."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry.strip()!r} is not an IP address or network") from None
    return tuple(out)


def address(text: str) -> str | None:
    """The IP address in `text` (a port some proxies append is dropped), or None."""
    text = text.strip()
    found = _WITH_PORT.fullmatch(text)
    if found:
        text = found["v6"] or found["v4"]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _within(text: str, trusted: Networks) -> bool:
    found = address(text)
    return found is not None and any(ipaddress.ip_address(found) in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The client behind trusted proxies: the nearest address in X-Forwarded-For that is not one.

    From any other peer the header is the client's own word and is ignored.
    """
    if not forwarded_for or not _within(peer, trusted):
        return peer
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return address(hop) or peer  # what a proxy appended is an address; garbage is not
    return address(hops[0]) or peer


def sign(key: str, client: str, now: float) -> str:
    """The X-Sanji-Client value naming `client` at time `now`."""
    stamp = str(int(now))
    return f"{client} {stamp} {_mac(key, client, stamp)}"


def verify(key: str | None, value: str, now: float) -> str:
    """The address an X-Sanji-Client value names; BadClaim when it is not the UI's, or stale."""
    if key is None:
        raise BadClaim(f"this server takes no {HEADER} claim: SANJI_UI_CLIENT_KEY is not set")
    parts = value.split(" ")
    client = address(parts[0]) if len(parts) == 3 else None
    if client is None or not parts[1].isdigit():
        raise BadClaim(f"{HEADER} must be 'address time signature'")
    named, stamp, mac = parts
    if not _SIGNATURE.fullmatch(mac) or not hmac.compare_digest(mac, _mac(key, named, stamp)):
        raise BadClaim(f"{HEADER} is not signed by this installation's admin UI")
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        raise BadClaim(f"{HEADER} was signed more than {MAX_AGE_SECONDS} s from now")
    return client


def derived_key(secret_key: str) -> str:
    """A dev installation's UI client key, derived from its secret key (production sets its own)."""
    return hmac.new(
        secret_key.encode(), b"sanji: the admin UI names its user's address", hashlib.sha256
    ).hexdigest()


def _mac(key: str, client: str, stamp: str) -> str:
    return hmac.new(key.encode(), f"{client}|{stamp}".encode(), hashlib.sha256).hexdigest()
