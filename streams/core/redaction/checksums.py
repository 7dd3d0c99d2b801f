"""Checksums that tell real identifiers from look-alike digit strings (pure core)."""

from __future__ import annotations

import math
from collections import Counter


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check; ``iban`` is upper case without separators."""
    if len(iban) < 15 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in moved))
    except ValueError:
        return False
    return number % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """US SSN rules: no 000/666/9xx area, no 00 group, no 0000 serial."""
    return area not in {"000", "666"} and area[0] != "9" and group != "00" and serial != "0000"


def nir_ok(nir: str) -> bool:
    """French NIR (INSEE number): 13 characters (Corsica: 2A/2B) and a 2-digit mod-97 key."""
    body, key = nir[:13], nir[13:]
    body = body.upper().replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not key.isdigit():
        return False
    return 97 - int(body) % 97 == int(key)


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(dni: str) -> bool:
    """Spanish DNI/NIE: 8 digits (NIE: X/Y/Z + 7 digits) and a mod-23 control letter."""
    head = dni[:-1].upper()
    head = head.replace("X", "0", 1).replace("Y", "1", 1).replace("Z", "2", 1) if head[0] in "XYZ" else head
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == dni[-1].upper()


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())
