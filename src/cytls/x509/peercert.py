"""A certificate as ``ssl.SSLSocket.getpeercert()`` returns it: :func:`certificate_to_dict`.

CPython's ``_decode_certificate`` (Modules/_ssl.c) with OpenSSL's formatting: long attribute
names, ``ASN1_TIME_print`` dates, ``i2a_ASN1_INTEGER`` serial numbers, ``GENERAL_NAME_print``
subjectAltName entries. Separate from verification because it only renders: the I/O adapters
call it for ``getpeercert()`` on a leaf that was verified elsewhere, and its tables are
compatibility data that have nothing to do with whether a chain is trusted.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from cytls.x509.loading import _extension

__all__ = ["certificate_to_dict"]


# OpenSSL's long names (OBJ_nid2ln), which ssl's getpeercert() uses for name attributes.
_ATTRIBUTE_NAMES: dict[str, str] = {
    NameOID.COMMON_NAME.dotted_string: "commonName",
    NameOID.COUNTRY_NAME.dotted_string: "countryName",
    NameOID.LOCALITY_NAME.dotted_string: "localityName",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "stateOrProvinceName",
    NameOID.STREET_ADDRESS.dotted_string: "streetAddress",
    NameOID.ORGANIZATION_NAME.dotted_string: "organizationName",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "organizationalUnitName",
    NameOID.SERIAL_NUMBER.dotted_string: "serialNumber",
    NameOID.SURNAME.dotted_string: "surname",
    NameOID.GIVEN_NAME.dotted_string: "givenName",
    NameOID.TITLE.dotted_string: "title",
    NameOID.INITIALS.dotted_string: "initials",
    NameOID.GENERATION_QUALIFIER.dotted_string: "generationQualifier",
    NameOID.X500_UNIQUE_IDENTIFIER.dotted_string: "x500UniqueIdentifier",
    NameOID.DN_QUALIFIER.dotted_string: "dnQualifier",
    NameOID.PSEUDONYM.dotted_string: "pseudonym",
    NameOID.USER_ID.dotted_string: "userId",
    NameOID.DOMAIN_COMPONENT.dotted_string: "domainComponent",
    NameOID.EMAIL_ADDRESS.dotted_string: "emailAddress",
    NameOID.JURISDICTION_COUNTRY_NAME.dotted_string: "jurisdictionCountryName",
    NameOID.JURISDICTION_LOCALITY_NAME.dotted_string: "jurisdictionLocalityName",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME.dotted_string: "jurisdictionStateOrProvinceName",
    NameOID.BUSINESS_CATEGORY.dotted_string: "businessCategory",
    NameOID.POSTAL_ADDRESS.dotted_string: "postalAddress",
    NameOID.POSTAL_CODE.dotted_string: "postalCode",
    NameOID.UNSTRUCTURED_NAME.dotted_string: "unstructuredName",
    NameOID.ORGANIZATION_IDENTIFIER.dotted_string: "organizationIdentifier",
    "2.5.4.13": "description",
    "2.5.4.14": "searchGuide",
    "2.5.4.18": "postOfficeBox",
    "2.5.4.20": "telephoneNumber",
    "2.5.4.26": "registeredAddress",
    "2.5.4.41": "name",
    "2.5.4.51": "houseIdentifier",
    "2.5.4.72": "role",
    "0.9.2342.19200300.100.1.3": "rfc822Mailbox",
    "1.2.840.113549.1.9.8": "unstructuredAddress",
    "1.2.643.100.1": "OGRN",
    "1.2.643.100.3": "SNILS",
    "1.2.643.3.131.1.1": "INN",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _oid_text(oid: x509.ObjectIdentifier) -> str:
    """OBJ_obj2txt(no_name=0): OpenSSL's long name if it has one, else the dotted form."""
    return _ATTRIBUTE_NAMES.get(oid.dotted_string, oid.dotted_string)


def _attribute_value(value: str | bytes) -> str:
    if isinstance(value, bytes):  # a BIT STRING (x500UniqueIdentifier): ASN1_STRING_to_UTF8
        return value.decode("latin-1")
    return value


def _name_tuple(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``_create_tuple_for_X509_NAME``: one tuple per RDN, of (long name, value) pairs."""
    return tuple(
        tuple((_oid_text(attribute.oid), _attribute_value(attribute.value)) for attribute in rdn)
        for rdn in name.rdns
    )


def _openssl_time(moment: datetime.datetime) -> str:
    """ASN1_TIME_print: ``Jan  5 09:34:43 2018 GMT``."""
    moment = moment.astimezone(datetime.UTC)
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day:2d} {moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d} {moment.year} GMT"
    )


def _openssl_serial(serial: int) -> str:
    """i2a_ASN1_INTEGER as ``BIO_gets`` reads it back: upper-case hex of the magnitude, two
    digits per octet, a leading '-' if negative, and a line break after 35 octets."""
    magnitude = abs(serial)
    octets = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "big")
    text = "-" if serial < 0 else ""
    if len(octets) > 35:
        return text + octets[:35].hex().upper() + "\\\n"
    return text + octets.hex().upper()


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    packed = address.packed
    return ":".join(f"{(packed[i] << 8) | packed[i + 1]:X}" for i in range(0, 16, 2))


def _general_name(name: x509.GeneralName) -> tuple[str, Any]:
    """One subjectAltName entry as ``_get_peer_alt_names`` renders it."""
    if isinstance(name, x509.DNSName):
        return ("DNS", name.value)
    if isinstance(name, x509.RFC822Name):
        return ("email", name.value)
    if isinstance(name, x509.UniformResourceIdentifier):
        return ("URI", name.value)
    if isinstance(name, x509.DirectoryName):
        return ("DirName", _name_tuple(name.value))
    if isinstance(name, x509.RegisteredID):
        return ("Registered ID", _oid_text(name.value))
    if isinstance(name, x509.IPAddress):
        address = name.value
        if isinstance(address, ipaddress.IPv4Address):
            return ("IP Address", str(address))
        if isinstance(address, ipaddress.IPv6Address):
            return ("IP Address", _ipv6_text(address))
        return ("IP Address", "<invalid>")
    # OtherName: GENERAL_NAME_print writes "othername:<unsupported>" for types it does not know
    return ("othername", "<unsupported>")


def _uris(names: Iterable[x509.GeneralName]) -> list[str]:
    return [name.value for name in names if isinstance(name, x509.UniformResourceIdentifier)]


def certificate_to_dict(cert: x509.Certificate) -> dict[str, Any]:
    """The certificate as ``ssl.SSLSocket.getpeercert()`` returns it (CPython's
    ``_decode_certificate`` in Modules/_ssl.c, with OpenSSL's formatting).

    Keys: subject, issuer, version, serialNumber, notBefore, notAfter, and when present
    subjectAltName, OCSP, caIssuers, crlDistributionPoints.
    """
    result: dict[str, Any] = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _openssl_serial(cert.serial_number),
        "notBefore": _openssl_time(cert.not_valid_before_utc),
        "notAfter": _openssl_time(cert.not_valid_after_utc),
    }
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        result["subjectAltName"] = tuple(_general_name(name) for name in san)
    access = _extension(cert, x509.AuthorityInformationAccess)
    if access is not None:
        for key, method in (
            ("OCSP", x509.AuthorityInformationAccessOID.OCSP),
            ("caIssuers", x509.AuthorityInformationAccessOID.CA_ISSUERS),
        ):
            uris = _uris(d.access_location for d in access if d.access_method == method)
            if uris:
                result[key] = tuple(uris)
    points = _extension(cert, x509.CRLDistributionPoints)
    if points is not None:
        uris = []
        for point in points:
            if point.full_name is not None:
                uris += _uris(point.full_name)
        if uris:
            result["crlDistributionPoints"] = tuple(uris)
    return result
