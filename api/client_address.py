"""Whose address a request comes from, when a proxy or the admin UI stands between the person and the API.

Rate limits, sign-in lockouts and the audit log count by the client's address. The TCP peer is
the client unless it is a configured proxy (SANJI_TRUSTED_PROXIES), whose X-Forwarded-For then
names it; or unless the request carries the admin UI's `X-Sanji-Client` header, which names the
address of the person at the browser and is signed with a key derived from the installation's
secret key, so that no one but the UI can claim an address. No ORM here: the admin UI signs with it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

HEADER = "X-Sanji-Client"
MAX_AGE_SECONDS = 300  # a signed claim older (or newer) than this is refused
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


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


def _within(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The client behind trusted proxies: the nearest address in X-Forwarded-For that is not one.

    From any other peer the header is the client's own word and is ignored.
    """
    if not forwarded_for or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop if _is_address(hop) else peer
    return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def ui_key(secret_key: str) -> bytes:
    """The admin UI's signing key: derived, so the UI never signs with the token key itself."""
    return hmac.new(
        secret_key.encode(), b"sanji: the admin UI names its user's address", hashlib.sha256
    ).digest()


def sign(key: bytes, address: str, now: float) -> str:
    """The X-Sanji-Client value naming `address` at time `now`."""
    stamp = str(int(now))
    return f"{address} {stamp} {_mac(key, address, stamp)}"


def verify(key: bytes, value: str, now: float) -> str:
    """The address an X-Sanji-Client value names; BadClaim when it is not the UI's, or stale."""
    parts = value.split(" ")
    if len(parts) != 3 or not _is_address(parts[0]) or not parts[1].isdigit():
        raise BadClaim(f"{HEADER} must be 'address time signature'")
    address, stamp, mac = parts
    if not hmac.compare_digest(mac, _mac(key, address, stamp)):
        raise BadClaim(f"{HEADER} is not signed by this installation's admin UI")
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        raise BadClaim(f"{HEADER} was signed more than {MAX_AGE_SECONDS} s from now")
    return address


def _mac(key: bytes, address: str, stamp: str) -> str:
    return hmac.new(key, f"{address}|{stamp}".encode(), hashlib.sha256).hexdigest()
