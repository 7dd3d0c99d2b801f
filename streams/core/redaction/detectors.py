"""Regex + checksum detectors of structured PII: email, phone, card, IBAN, national ids, IP (pure core).

Each detector is a function ``text -> Iterator[Span]``. Candidates are found by regular
expressions and kept only when a checksum or a parser agrees (Luhn, mod 97, ``ipaddress``,
``phonenumbers``), so digit strings that merely look like PII stay. Cheap pre-checks skip a
detector when its anchor character (``@``, enough digits, ``:``) is absent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import ClassVar

import phonenumbers

from streams.core.redaction.checksums import dni_ok, iban_ok, luhn_ok, nir_ok, ssn_ok
from streams.core.redaction.remembered import Remembered
from streams.core.redaction.span import Span

Detector = Callable[[str], Iterator[Span]]

_EMAIL = re.compile(
    r"(?<![\w.+%-])[\w.+%-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z-])"
)

_URL_USER = re.compile(r"[^\s/@:]+:")


def emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        scheme = text.rfind("://", 0, m.start())
        if scheme >= 0 and _URL_USER.fullmatch(text, scheme + 3, m.start()):
            continue  # the password and host of https://user:password@host
        yield Span(m.start(), m.end(), "EMAIL")


_CARD = re.compile(r"(?<![\w.,-])[2-6](?:[ -]?\d){12,18}(?![\d])")
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[068]|35|6[0245]")


_CARD_GROUPS = re.compile(r"(?:\d{4}[ -]){2,3}\d{4}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")


def _card_length_ok(digits: str) -> bool:
    if digits.startswith(("34", "37")):  # American Express
        return len(digits) == 15
    if digits.startswith("2") or digits.startswith("5"):  # Mastercard
        return len(digits) == 16
    return 13 <= len(digits) <= 19


def cards(text: str) -> Iterator[Span]:
    """Luhn-valid numbers of a card network; with separators, grouped the way cards print them."""
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        grouped = digits == m.group() or _CARD_GROUPS.fullmatch(m.group())
        if _card_length_ok(digits) and grouped and _CARD_PREFIX.match(digits) and luhn_ok(digits):
            yield Span(m.start(), m.end(), "CARD")


# Length of the IBAN of each country that has one (ISO 13616 registry).
_IBAN_TABLE = (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 "
    "ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 "
    "LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 "
    "QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
)
_IBAN_LENGTHS = {item[:2]: int(item[2:]) for item in _IBAN_TABLE.split()}
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})(?=[ -]?[A-Za-z0-9])")


def ibans(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        want = _IBAN_LENGTHS.get(m.group(1).upper())
        if want is None:
            continue
        chars, i = [m.group(1).upper(), m.group(2)], m.end()
        taken = 4
        while taken < want and i < len(text):
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                chars.append(ch.upper())
                taken += 1
                i += 1
            elif ch in " -" and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum():
                i += 1
            else:
                break
        if taken == want and not (i < len(text) and text[i].isalnum()) and iban_ok("".join(chars)):
            yield Span(m.start(), i, "IBAN")


_SSN = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_BARE = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}(\d{3})(\d{2})(\d{4})\b")


def ssns(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        if ssn_ok(m.group(1), m.group(3), m.group(4)):
            yield Span(m.start(), m.end(), "SSN")
    for m in _SSN_BARE.finditer(text):
        if ssn_ok(m.group(1), m.group(2), m.group(3)):
            yield Span(m.start(1), m.end(3), "SSN")


# UK National Insurance number (no checksum: the prefix rules of HMRC), French NIR
# (mod-97 key), Spanish DNI/NIE (mod-23 letter).
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"(?: ?\d{2}){3} ?[A-D](?![A-Za-z0-9])"
)
_NIR = re.compile(
    r"(?<![\d])([12378]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[ABab]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?![\d])"
)
_DNI = re.compile(r"(?i)(?<![A-Za-z0-9])([XYZ]?\d{7,8})[- ]?([A-Z])(?![A-Za-z0-9])")


def national_ids(text: str) -> Iterator[Span]:
    for m in _NINO.finditer(text):
        yield Span(m.start(), m.end(), "NATIONAL_ID")
    for m in _NIR.finditer(text):
        if nir_ok("".join(m.groups())):
            yield Span(m.start(), m.end(), "NATIONAL_ID")
    for m in _DNI.finditer(text):
        head = m.group(1)
        if (len(head) == 8 or head[0] in "XYZxyz") and dni_ok(head + m.group(2)):
            yield Span(m.start(), m.end(), "NATIONAL_ID")


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?:%\w+)?:?(?![\w:])"
)


def ips(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield Span(m.start(), m.end(), "IP")
    if text.count(":") < 2:
        return
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if candidate.endswith(":") and not candidate.endswith("::"):
            candidate = candidate[:-1]  # the colon of a prompt: "root@fe80::1: ~"
        try:
            ipaddress.IPv6Address(candidate.split("%", 1)[0])
        except ValueError:
            continue
        yield Span(m.start(), m.start() + len(candidate), "IP")


_DIGIT = re.compile(r"\d")
_REGIONS = ("US", "GB", "FR", "DE")
_PHONE_CONTEXT = re.compile(r"(?i)(?:phone|call|tel|mobile|cell|reach|fax|sms|whatsapp|number|contact)\W")
_COUNTRY_PREFIX = re.compile(r"\+\d{1,3}\s?$")


def _phone_like(text: str, start: int, end: int) -> bool:
    """A possible (not provably valid) number still counts when it looks or is called like one."""
    raw = text[start:end]
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if before[-1:].isalnum() or (before[-1:] in " -." and before[:1].isdigit()):
        return False  # part of a longer number or word
    if (
        after[:1].isalnum()
        or (after[:1] in " -." and after[1:].isdigit())
        or (after[:1] == "-" and after[1:].isalnum())
    ):
        return False
    digits = sum(ch.isdigit() for ch in raw)
    if _PHONE_CONTEXT.search(text, max(0, start - 30), start):
        return digits >= 7
    shaped = raw.startswith(("+", "(")) or any(sep in raw for sep in " -.)")
    return digits >= 10 and shaped


_NO_NUMBER = phonenumbers.PhoneNumber()  # the number of a match remembered: phones() uses where it stands only


class _Matcher(phonenumbers.PhoneNumberMatcher):
    """``PhoneNumberMatcher`` that remembers its verdict on each candidate it parsed.

    A segment is read again at each ask of the early release and at its close, and every number typed in it is
    parsed again then, for each region and leniency: parsing is most of what reading a segment costs. The
    verdict (``_parse_and_verify``) depends on the candidate, the characters either side of it in the text, the
    region and the leniency only, so those are the key, and the matches are where the library finds them. The
    key keeps a keyed digest of what was typed, and the verdict no number: no typed digits are kept in the clear.
    """

    _verdicts: ClassVar[Remembered[bool]] = Remembered(8192)

    def _parse_and_verify(self, candidate: str, offset: int) -> phonenumbers.PhoneNumberMatch | None:
        text, end = self.text, offset + len(candidate)
        before, after = text[offset - 1] if offset > 0 else "", text[end] if end < len(text) else ""
        key = _Matcher._verdicts.key(repr((before, candidate, after)), (self.preferred_region, int(self.leniency)))
        found = _Matcher._verdicts.get(key)
        if found is not None:
            return phonenumbers.PhoneNumberMatch(offset, candidate, _NO_NUMBER) if found else None
        match = super()._parse_and_verify(candidate, offset)
        _Matcher._verdicts.put(key, match is not None)
        return match


def phones(text: str) -> Iterator[Span]:
    """Numbers ``phonenumbers`` finds for a default region (international ones for any region).

    Valid numbers always count; numbers that are only possible (unassigned area codes, as
    typed in a hurry) count when shaped like a phone number or introduced by "call", "phone", ...
    """
    if len(_DIGIT.findall(text)) < 7:
        return
    seen: set[tuple[int, int]] = set()
    for leniency in (phonenumbers.Leniency.VALID, phonenumbers.Leniency.POSSIBLE):
        for region in _REGIONS:
            for match in _Matcher(text, region, leniency=leniency):
                start, end = match.start, match.end
                prefix = _COUNTRY_PREFIX.search(text, max(0, start - 5), start)
                if prefix and prefix.end() == start:
                    start = prefix.start()
                if any(s <= start < e or s < end <= e for s, e in seen):
                    continue
                if leniency == phonenumbers.Leniency.VALID or _phone_like(text, start, end):
                    seen.add((start, end))
                    yield Span(start, end, "PHONE")
