"""A labeled evaluation set for PII detection, generated offline from a fixed seed with Faker.

Sentences, window titles, shell commands and form fields, each with gold spans
(``Span(start, end, label)``), in many formats: cards with spaces or dashes, IBANs compact or
grouped, phones of four countries, national ids, IPv4/IPv6, credentials in URLs, provider
tokens, passwords on command lines, and person names. About a third of the texts hold no PII
and carry the look-alikes that cost precision (versions, order numbers, hashes, UUIDs, dates).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import phonenumbers
from faker import Faker

from bench.names_by_origin import NON_NAMES, ORIGINS, family, given
from streams.core.redaction import Span

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE")
REGIONS = {"en_US": "US", "en_GB": "GB", "fr_FR": "FR", "de_DE": "DE"}


@dataclass(frozen=True)
class Sample:
    kind: str  # sentence, title, command, form, negative
    text: str
    gold: tuple[Span, ...]


Part = str | tuple[str, str]  # plain text, or (value, label)


def _assemble(kind: str, parts: list[Part]) -> Sample:
    text, gold = "", []
    for part in parts:
        if isinstance(part, tuple):
            value, label = part
            gold.append(Span(len(text), len(text) + len(value), label))
            text += value
        else:
            text += part
    return Sample(kind, text, tuple(gold))


class Values:
    """PII values in varied formats; every one is well-formed (valid checksum, possible number)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {loc: Faker(loc) for loc in LOCALES}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed + i)

    @property
    def fake(self) -> Faker:
        return self.fakers[self.rng.choice(LOCALES)]

    def _alnum(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def email(self) -> str:
        return self.rng.choice((self.fake.email, self.fake.free_email, self.fake.company_email))()

    def phone(self) -> str:
        while True:
            loc = self.rng.choice(LOCALES)
            raw = self.fakers[loc].phone_number().split("x")[0].strip()
            try:
                if phonenumbers.is_possible_number(phonenumbers.parse(raw, REGIONS[loc])):
                    return raw
            except phonenumbers.NumberParseException:
                continue

    def card(self) -> str:
        digits = self.fake.credit_card_number(self.rng.choice(("visa16", "mastercard", "amex", "discover")))
        sep = self.rng.choice(("", " ", "-", " "))
        if not sep:
            return str(digits)
        groups = (4, 6, 5) if len(digits) == 15 else (4, 4, 4, 4, 3)
        out, i = [], 0
        for g in groups:
            if i < len(digits):
                out.append(digits[i : i + g])
                i += g
        return sep.join(out)

    def iban(self) -> str:
        iban = self.fake.iban()
        return iban if self.rng.random() < 0.4 else " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))

    def ssn(self) -> str:
        ssn = self.fakers["en_US"].ssn()
        return ssn if self.rng.random() < 0.8 else ssn.replace("-", " ")

    def national_id(self) -> str:
        kind = self.rng.choice(("nino", "nir", "dni"))
        if kind == "nir":
            return str(self.fakers["fr_FR"].ssn())
        if kind == "dni":
            f = Faker("es_ES")
            f.seed_instance(self.rng.randrange(1 << 30))
            return str(self.rng.choice((f.nif, f.nie))())
        first = self.rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        second = self.rng.choice("ABCEGHJKLMNPRSTWXYZ")
        while first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
            second = self.rng.choice("ABCEGHJKLMNPRSTWXYZ")
        digits = f"{self.rng.randrange(10**6):06d}"
        sep = self.rng.choice(("", " "))
        return sep.join((first + second, digits[:2], digits[2:4], digits[4:], self.rng.choice("ABCD")))

    def ip(self) -> str:
        return self.rng.choice((self.fake.ipv4, self.fake.ipv4_private, self.fake.ipv6, self.fake.ipv4))()

    def password(self) -> str:
        return self.fake.password(length=self.rng.randrange(8, 16), special_chars=self.rng.random() < 0.5)

    def secret(self) -> str:
        jwt_head = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode().rstrip("=")
        jwt_body = base64.urlsafe_b64encode(json.dumps({"sub": self._alnum(8)}).encode()).decode().rstrip("=")
        makers: list[Callable[[], str]] = [
            lambda: "AKIA" + self._alnum(16, string.ascii_uppercase + "234567"),
            lambda: "ghp_" + self._alnum(36),
            lambda: "xoxb-" + self._alnum(12, string.digits) + "-" + self._alnum(24),
            lambda: "sk_live_" + self._alnum(24),
            lambda: "glpat-" + self._alnum(20),
            lambda: "AIza" + self._alnum(35),
            lambda: f"{jwt_head}.{jwt_body}.{self._alnum(43)}",
        ]
        return self.rng.choice(makers)()

    def person(self) -> str:
        """A given and a family name of one origin (``bench.names_by_origin``: not the detector's lists)."""
        origin = self.rng.choice(list(ORIGINS))
        return f"{self.rng.choice(given(origin))} {self.rng.choice(family(origin))}"


def _sentence(v: Values) -> list[Part]:
    r = v.rng
    return r.choice(
        [
            ["Please email ", (v.email(), "EMAIL"), " about the invoice."],
            ["You can reach me at ", (v.phone(), "PHONE"), " after 5pm"],
            ["my card is ", (v.card(), "CARD"), " exp 09/28"],
            ["Wire it to IBAN ", (v.iban(), "IBAN"), " please, ref ", str(r.randrange(1000, 99999))],
            ["SSN: ", (v.ssn(), "SSN")],
            ["her national insurance number is ", (v.national_id(), "NATIONAL_ID")],
            ["the server ", (v.ip(), "IP"), " is down again"],
            ["Hi ", (v.person(), "PERSON"), ", thanks for the update!"],
            ["Meeting with ", (v.person(), "PERSON"), " and ", (v.person(), "PERSON"), " tomorrow"],
            ["cc ", (v.person(), "PERSON"), " <", (v.email(), "EMAIL"), ">"],
            ["my password is ", (v.password().replace(" ", ""), "PASSWORD")],
            [v.fake.sentence(), " Call ", (v.phone(), "PHONE"), "."],
        ]
    )


def _title(v: Values) -> list[Part]:
    r = v.rng
    return r.choice(
        [
            ["Inbox (", str(r.randrange(1, 99)), ") - ", (v.email(), "EMAIL"), " - Gmail"],
            [(v.person(), "PERSON"), " | Slack"],
            ["Chat with ", (v.person(), "PERSON"), " - Microsoft Teams"],
            ["root@", (v.ip(), "IP"), ": ~"],
            ["Call ", (v.phone(), "PHONE"), " - Zoom"],
            ["Payment details - ", (v.card(), "CARD"), " - Stripe Dashboard"],
        ]
    )


def _command(v: Values) -> list[Part]:
    r = v.rng
    user, host = v.fake.user_name(), v.fake.domain_name()
    pw = v.password().replace("'", "").replace('"', "").replace(" ", "").replace("\\", "")
    return r.choice(
        [
            ["mysql -u ", user, " -p", (pw, "PASSWORD"), " shop"],
            ["psql --password=", (pw, "PASSWORD"), " -h db.internal"],
            ["export DB_PASSWORD=", (pw, "PASSWORD")],
            ["sshpass -p ", (pw, "PASSWORD"), " ssh ", user, "@", (v.ip(), "IP")],
            ["git clone https://", (f"{user}:{quote(pw, safe='')}", "URL_CREDENTIALS"), f"@{host}/team/app.git"],
            ["export AWS_ACCESS_KEY_ID=", (v.secret(), "SECRET")],
            ["curl -H 'Authorization: Bearer ", (v.secret(), "SECRET"), "' https://api.", host],
            ["export GITHUB_TOKEN=", (v.secret(), "SECRET")],
            ["ping -c 3 ", (v.ip(), "IP")],
            ["ssh -p 2222 ", user, "@", (v.ip(), "IP")],
        ]
    )


def _form(v: Values) -> list[Part]:
    return [
        "Name: ",
        (v.person(), "PERSON"),
        "\tEmail: ",
        (v.email(), "EMAIL"),
        "\tPhone: ",
        (v.phone(), "PHONE"),
        "\tIBAN: ",
        (v.iban(), "IBAN"),
    ]


def _negative(v: Values) -> list[Part]:
    r, f = v.rng, v.fake
    return [
        r.choice(
            [
                f.sentence(nb_words=r.randrange(5, 14)),
                f"release v{r.randrange(1, 9)}.{r.randrange(20)}.{r.randrange(50)} is out",
                f"order {r.randrange(10**7, 10**8)} shipped on {f.date()} at {f.time()}",
                f"git commit -m '{f.sentence(nb_words=4)}' && git push origin main",
                f"git checkout {f.sha1()[:12]}",
                f"id {f.uuid4()} total {r.randrange(10, 999)}.{r.randrange(100):02d} EUR",
                f"mkdir -p ~/src/{f.word()} && cd ~/src/{f.word()}",
                f"{f.word()}.py - Visual Studio Code",
                f"pip install {f.word()}=={r.randrange(1, 5)}.{r.randrange(30)}",
                f"see https://{f.domain_name()}/{f.uri_path()} for details",
                f"the meeting is in room {r.randrange(100, 999)} at {r.randrange(8, 18)}:{r.choice(('00', '30'))}",
                f"Sprint {r.randrange(1, 60)} retro - Confluence",
                r.choice(NON_NAMES),
                r.choice(NON_NAMES),
            ]
        )
    ]


GENERATORS = {"sentence": _sentence, "title": _title, "command": _command, "form": _form, "negative": _negative}
WEIGHTS = {"sentence": 30, "title": 15, "command": 20, "form": 5, "negative": 30}


def corpus(n: int = 3000, seed: int = 4) -> list[Sample]:
    """``n`` labeled samples, the same for the same ``seed``."""
    v = Values(seed)
    kinds = v.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=n)
    return [_assemble(kind, GENERATORS[kind](v)) for kind in kinds]
