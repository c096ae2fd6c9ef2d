"""Which resolved addresses the fetcher may connect to (SSRF): public unicast only, IPv4 hidden in IPv6 included.

Django-free and pure: `is_public_address` looks at one address, nothing else.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered by `is_global` on every Python version we run, so named here.
_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")

# IPv6 ranges whose last 32 bits are an IPv4 address the packet ends up at (RFC 4291, RFC 6052).
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# Refused whatever they carry: deprecated IPv4-compatible addresses, local-use NAT64 (RFC 8215), Teredo.
_REFUSED_IPV6 = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("2001::/32"),
)
# ISATAP interface identifiers (RFC 5214): 0000:5efe or 0200:5efe, then the node's IPv4 address.
_ISATAP_MARKERS = frozenset({0x00005EFE, 0x02005EFE})


def _is_public_ipv4(address: ipaddress.IPv4Address) -> bool:
    return (
        address.is_global and not address.is_multicast and not address.is_reserved and address not in _CARRIER_GRADE_NAT
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or ISATAP address routes to, if it is one."""
    if address.sixtofour is not None:
        return address.sixtofour
    if (int(address) >> 32) & 0xFFFFFFFF in _ISATAP_MARKERS:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public_ipv6(address: ipaddress.IPv6Address) -> bool:
    if address in _IPV4_MAPPED or address in _NAT64_WELL_KNOWN:
        # Only the IPv4 address decides: the IPv6 wrapper itself sits in a reserved block.
        return _is_public_ipv4(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if any(address in network for network in _REFUSED_IPV6):
        return False
    embedded = _embedded_ipv4(address)
    if embedded is not None and not _is_public_ipv4(embedded):
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved and not address.is_site_local


def is_public_address(address: IPAddress) -> bool:
    """True for a public unicast address; False for anything private, local, special or wrapping such an address."""
    if isinstance(address, ipaddress.IPv4Address):
        return _is_public_ipv4(address)
    return _is_public_ipv6(address)
