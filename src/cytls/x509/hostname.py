"""Host names: is a certificate valid for the name or address we connected to?

RFC 6125 matching against the subjectAltName (dNSName for names, with a left-most ``*`` label;
iPAddress for IP literals), IDNA-encoding names as ``ssl`` does, never the subject common name.
``cryptography``'s ``ServerVerifier`` does the matching that decides; this module turns a host
name into the subject it is given (:func:`_subject_for`) and, when a chain is rejected, says
whether the name is why (:func:`_name_mismatch`, with OpenSSL's HOSTNAME_MISMATCH or
IP_ADDRESS_MISMATCH). It is separate because the name is the one input of verification that
comes from the caller rather than from the certificates, and its rules (what is a valid DNS
name, how wildcards match) are easier to read and test alone.
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509

from cytls.errors import CertificateError
from cytls.x509.errors import X509VerifyError, _error, _name
from cytls.x509.loading import _extension

__all__: list[str] = []


_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _ip_literal(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = hostname[1:-1] if hostname.startswith("[") and hostname.endswith("]") else hostname
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _dns_name(hostname: str) -> str | None:
    """``hostname`` as the A-label DNS name the verifier compares, or None if it is not one.

    Non-ASCII names are IDNA-encoded as the ``ssl`` module does; one trailing dot (a fully
    qualified name) is dropped; case does not matter (RFC 6125 §6.4.1).
    """
    name = hostname[:-1] if hostname.endswith(".") else hostname
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return None
    return name.lower()


def _subject_for(hostname: str) -> x509.DNSName | x509.IPAddress:
    """The ``ServerVerifier`` subject for ``hostname``: an IP literal must match an iPAddress
    SAN, anything else a dNSName SAN (RFC 6125 §6.2, RFC 5280 §4.2.1.6)."""
    address = _ip_literal(hostname)
    if address is not None:
        return x509.IPAddress(address)
    name = _dns_name(hostname)
    if name is None:
        raise _error(
            X509VerifyError.HOSTNAME_MISMATCH,
            f"{hostname!r} is not a valid DNS host name, so no certificate can be valid for it",
            verify_message=f"Hostname mismatch, certificate is not valid for '{hostname}'.",
        )
    return x509.DNSName(name)


def _dns_pattern_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4.3 as ``cryptography`` implements it: exact (case-insensitive) or one
    ``*`` as the whole left-most label, matching exactly one label."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        parent = pattern[2:]
        if "." not in name or _dns_name(parent) is None:
            return False
        return name.split(".", 1)[1] == parent
    return _dns_name(pattern) is not None and pattern == name


def _name_mismatch(certificate: x509.Certificate, hostname: str) -> CertificateError | None:
    """A hostname/IP mismatch error if ``certificate`` is not valid for ``hostname``."""
    san = _extension(certificate, x509.SubjectAlternativeName)
    dns_names: list[str] = list(san.get_values_for_type(x509.DNSName)) if san else []
    addresses = list(san.get_values_for_type(x509.IPAddress)) if san else []
    address = _ip_literal(hostname)
    if address is not None:
        if address in addresses:
            return None
        code, what = X509VerifyError.IP_ADDRESS_MISMATCH, f"IP address {address}"
        verify_message = f"IP address mismatch, certificate is not valid for '{hostname}'."
    else:
        name = _dns_name(hostname)
        if name is not None and any(_dns_pattern_matches(p, name) for p in dns_names):
            return None
        code, what = X509VerifyError.HOSTNAME_MISMATCH, f"'{hostname}'"
        verify_message = f"Hostname mismatch, certificate is not valid for '{hostname}'."
    if san is None:
        detail = (
            "it has no subjectAltName extension, and the subject common name is not used, "
            "RFC 6125 §6.4.4"
        )
    else:
        listed = ", ".join(_san_names(certificate)) or "none usable"
        detail = f"names in it: {listed}"
    return _error(
        code,
        f"certificate {_name(certificate)} is not valid for {what} ({detail})",
        verify_message=verify_message,
    )


def _san_names(certificate: x509.Certificate) -> list[str]:
    san = _extension(certificate, x509.SubjectAlternativeName)
    if san is None:
        return []
    names: list[str] = list(san.get_values_for_type(x509.DNSName))
    names += [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    return names
