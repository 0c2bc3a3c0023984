"""The SSRF rule for webhook URLs (DESIGN.md): a destination may not be a loopback, private,
link-local, cloud-metadata, unspecified, multicast or otherwise non-public address unless an
operator allowlisted its CIDR (FANGFAN_WEBHOOK_ALLOWLIST). Pure: the caller resolves names."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "Allowlist",
    "DestinationRefused",
    "address_problem",
    "check_address",
    "check_addresses",
    "parse_allowlist",
    "parse_webhook_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, Alibaba Cloud, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}


class DestinationRefused(ValueError):
    """The URL or the address it resolves to may not be a webhook destination."""


@dataclass(frozen=True, slots=True)
class Allowlist:
    networks: tuple[IPNetwork, ...] = ()

    def allows(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)


def parse_allowlist(text: str) -> Allowlist:
    """`"127.0.0.1/32, ::1/128"` → Allowlist. A bad CIDR is a configuration error."""
    nets: list[IPNetwork] = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return Allowlist(tuple(nets))


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def address_problem(ip: IPAddress) -> str | None:
    """Why this address is not a public destination (None when it is)."""
    inner = _unwrap(ip)
    for candidate in {ip, inner}:
        if candidate in _METADATA:
            return "a cloud metadata address"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved or not candidate.is_global:
            return "a reserved (non-public) address"
    return None


def check_address(ip: IPAddress | str, allowlist: Allowlist) -> None:
    """Raise DestinationRefused unless `ip` is public or allowlisted."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if allowlist.allows(addr) or allowlist.allows(_unwrap(addr)):
        return
    why = address_problem(addr)
    if why is not None:
        raise DestinationRefused(
            f"url resolves to {addr}, {why}; webhooks may not target loopback, private, link-local, "
            "metadata, unspecified or multicast addresses unless FANGFAN_WEBHOOK_ALLOWLIST allows it"
        )


def check_addresses(ips: Iterable[str], allowlist: Allowlist) -> list[str]:
    """Every address a name resolves to must pass (one bad address refuses the name)."""
    out = list(dict.fromkeys(ips))
    if not out:
        raise DestinationRefused("url host does not resolve to any address")
    for ip in out:
        check_address(ip, allowlist)
    return out


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    scheme: str
    host: str  # a name or an IP literal, without brackets
    port: int

    @property
    def ip_literal(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def parse_webhook_url(url: str, schemes: Sequence[str] = ("http", "https")) -> WebhookUrl:
    """Syntax of a webhook URL: http or https, a host, no user info (it would end up in logs)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"url is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise DestinationRefused("url must use http or https")
    if not parts.hostname:
        raise DestinationRefused("url has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("url may not contain user name or password; use the signing secret")
    if parts.fragment:
        raise DestinationRefused("url may not contain a fragment")
    host = parts.hostname.rstrip(".").lower()
    return WebhookUrl(scheme, host, port or (443 if scheme == "https" else 80))
