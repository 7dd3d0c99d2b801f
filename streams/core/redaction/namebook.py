"""Names of many origins, and the words that look like names but are not (data, loaded once, lazily).

A :class:`Namebook` holds four sets of folded, lower-case words ("bjørn" and "Bjorn" are both
``bjorn``):

- ``given`` and ``family``: person names. From the person providers of Faker (MIT), about
  30,000 given and 33,000 family names written by its contributors for ~90 locales, from
  Nigeria (Yoruba, Igbo, Hausa), Ghana (Twi), Kenya and Swahili, Zulu, India (Hindi, Tamil,
  Gujarati, Marathi, Odia), Bangladesh, Nepal, Sri Lanka, Pakistan, China, Taiwan, Japan
  (romanised), Vietnam, Thailand, Indonesia, Uzbekistan, Azerbaijan, Georgia, Armenia, the
  Arab world, Iran, Israel, Turkey, the Slavic, Baltic, Nordic, Latin American and Western
  European countries; and the US Census 1990 first names (``names`` package, MIT). Faker is
  a data generator and its lists are not frequency-complete: a name missing from them can
  only be found by its context (see ``names.GazetteerPersonFinder``).
- ``words``: common English words, which are often names too ("Will", "Grant", "Hope"):
  Faker's English lorem lists (2,239 nouns, verbs, adjectives, adverbs) and the workplace,
  interface and product words written below.
- ``places``: city, region and country names of Faker's address providers and the
  multi-word places written below ("Abu Dhabi"), so "Santa Clara" is not a person.

Loading imports every Faker locale module once, in a child interpreter that hands back only the
folded words (``make eval-redaction`` measures the time and the memory this process keeps).
Without Faker installed, the book holds the census names and the lists written here only.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import importlib.util
import json
import logging
import pkgutil
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CENSUS_PACKAGE = "names"
log = logging.getLogger(__name__)

_SPECIAL = str.maketrans(
    {"ø": "o", "ß": "ss", "ı": "i", "ł": "l", "đ": "d", "þ": "th", "æ": "ae", "ð": "d", "œ": "oe", "’": "'"}
)


def fold(word: str) -> str:
    """The lower-case word without accents ("Bjørn" -> "bjorn", "Şahin" -> "sahin")."""
    word = word.lower()
    if word.isascii():
        return word
    word = word.translate(_SPECIAL)
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


# Words of offices, calendars, user interfaces and products that start capitalised in titles and
# menus ("Grant Access", "Sprint Review", "Kafka Connect"), greetings and mail-header words, and
# the words that make a place or an organisation of the words before them ("Hope Street").
_WORKPLACE_WORDS = """
    hi hello hey dear thanks thank cheers regards best kind warm yours sincerely greetings morning afternoon evening
    from to cc bcc re fwd fw subject sent date attachment attached inbox outbox draft drafts reply forward
    meeting meetings call calls chat lunch brunch dinner breakfast coffee standup stand-up sync retro retrospective
    sprint review planning demo workshop offsite onboarding interview interviews webinar training all-hands
    team teams all everyone folks customer customers client clients partner partners vendor vendors user users
    finance legal accounts payable receivable sales marketing support operations ops engineering product design
    security compliance procurement payroll admin administrator hr it qa devops board management leadership
    access grant mark read unread pay bill bills release notes newsletter notice request requests pull merge
    open recent save as new tab window file edit view tools help settings preferences options profile account
    sign log login logout dashboard home search results report reports summary budget forecast invoice invoices
    order orders statement statements period grace sale sales summer winter spring autumn fall holiday holidays
    party birthday christmas easter ramadan diwali eid hanukkah thanksgiving lunar year quarter week weekly daily
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december today tomorrow yesterday tonight
    code studio visual reader acrobat adobe microsoft google apple amazon meta slack zoom jira confluence
    outlook excel word powerpoint onenote sharepoint chrome chromium firefox safari edge kafka grafana
    kubernetes docker github gitlab bitbucket figma notion salesforce workday oracle tableau azure aws linux
    ubuntu debian windows android iphone ipad macos python java javascript typescript rust golang postgres
    mysql redis terraform ansible jenkins sentry datadog splunk okta zendesk hubspot asana trello miro loom
    canva dropbox box teamviewer webex skype whatsapp telegram signal discord spotify netflix youtube
    santa san sao saint sankt porto puerto fort north south east west upper lower great little los las
    golden gate contents table index appendix chapter section part page
    blessing gift grace comfort patience mercy peace
"""
# Words that make a place or an organisation of the capitalised words before them ("Hope Street", "Chase Bank").
_PLACE_WORDS = """
    street st road rd avenue ave lane ln drive dr boulevard blvd way place square sq park court ct terrace
    station airport terminal platform bridge tunnel harbour harbor port bay beach island islands river lake
    valley mount mountain hill hills garden gardens room rooms hall building tower floor campus office offices
    hub center centre clinic hospital school college university institute academy library museum church
    mosque temple bank hotel restaurant cafe bar mall market store shop gallery theatre theater stadium arena
    tech labs lab group inc ltd llc gmbh corp co company foundation association society club committee council
    ministry department agency service services cloud web desktop mobile app apps online portal
"""

_PLACES = """
    Abu Dhabi|Addis Ababa|Buenos Aires|Hong Kong|Kuala Lumpur|Dar es Salaam|Ho Chi Minh|Rio de Janeiro|Sao Paulo
    Santa Clara|San Francisco|San Jose|San Diego|Los Angeles|Las Vegas|New York|New Delhi|Tel Aviv|Sri Lanka
    Costa Rica|Puerto Rico|El Salvador|Saudi Arabia|South Africa|Cape Town|Mexico City|Phnom Penh|Kuala
    Port Moresby|Port Louis|Santo Domingo|Panama City|Quezon City|Hai Phong|Da Nang|Chiang Mai|Abu Ghraib
    Victoria|Georgia|Jordan|Florence|Lagos|Nairobi|Tokyo|Kyoto|Osaka|Seoul|Busan|Beijing|Shanghai|Delhi|Mumbai
    Bangalore|Bengaluru|Chennai|Karachi|Lahore|Dhaka|Jakarta|Manila|Hanoi|Bangkok|Singapore|Tashkent|Almaty
    Astana|Bishkek|Dubai|Doha|Riyadh|Tehran|Istanbul|Ankara|Cairo|Accra|Kampala|Kigali|Auckland|Wellington
    Suva|Apia|Honolulu|London|Paris|Berlin|Madrid|Lisbon|Rome|Oslo|Stockholm|Helsinki|Copenhagen|Reykjavik
    Prague|Warsaw|Kyiv|Moscow|Belgrade|Zagreb|Bogota|Lima|Santiago|Caracas|Quito|Montevideo|Asuncion
"""


@dataclass(frozen=True)
class Namebook:
    """Folded, lower-case words: person names, common English words, places."""

    given: frozenset[str]
    family: frozenset[str]
    words: frozenset[str]
    places: frozenset[str]
    place_words: frozenset[str] = frozenset(_PLACE_WORDS.split())

    def is_name(self, key: str) -> bool:
        return key in self.given or key in self.family

    def is_word(self, key: str) -> bool:
        """A common English word, or one of its inflections ("requests", "planning", "reader")."""
        return any(stem in self.words for stem in _stems(key))


def _stems(key: str) -> Iterator[str]:
    yield key
    for suffix in ("s", "es", "ed", "ing", "er", "ers", "ly"):
        if key.endswith(suffix) and len(key) > len(suffix) + 2:
            stem = key[: -len(suffix)]
            yield stem
            yield stem + "e"  # "shared" -> "share"
            if len(stem) > 2 and stem[-1] == stem[-2]:
                yield stem[:-1]  # "planning" -> "plan"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        value = list(value)
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                yield item


def _provider_lists(package: str, wanted: Iterable[str], need: str = "") -> dict[str, set[str]]:
    """Strings of every locale's ``Provider`` attributes whose name contains ``need`` and one of ``wanted``."""
    out: dict[str, set[str]] = {w: set() for w in wanted}
    try:
        root = importlib.import_module(package)
    except ImportError:
        return out
    for info in pkgutil.iter_modules(root.__path__):
        try:
            provider = importlib.import_module(f"{package}.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr, value in vars(provider).items():
            for w in wanted:
                if w in attr and need in attr and not any(x in attr for x in ("format", "abbr", "prefix")):
                    out[w].update(_strings(value))
    return out


def _words(strings: Iterable[str]) -> set[str]:
    return {fold(part) for s in strings for part in s.replace("-", " ").split() if part[:1].isalpha()}


@functools.cache
def census_first_names(package: str = CENSUS_PACKAGE) -> frozenset[str]:
    """The US Census 1990 first names of the ``names`` package, folded ("mary"), or none if not installed."""
    if importlib.util.find_spec(package) is None:
        return frozenset()
    files = importlib.resources.files(package)
    lines = (
        line for f in ("dist.female.first", "dist.male.first") for line in files.joinpath(f).read_text().splitlines()
    )
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


@functools.cache
def namebook() -> Namebook:
    """The installed name and word lists (the first call loads them; later calls share them).

    They are read in a child interpreter, which hands back only the folded words: Faker's modules
    would otherwise stay in this process (about 30 MiB more). In-process if the child fails.
    """
    try:
        child = subprocess.run([sys.executable, "-m", __name__], capture_output=True, check=True, timeout=300)
        given, family, words, places = json.loads(child.stdout)
        return Namebook(frozenset(given), frozenset(family), frozenset(words), frozenset(places))
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.warning("reading the name book in a child process failed (%s); reading it here", exc)
        return _read()


def _read() -> Namebook:
    # first_names, first_names_female, first_romanized_names (ja_JP, zh_*), ...; last_names, ...
    people = _provider_lists("faker.providers.person", ("first_", "last_"), need="name")
    given = _words(people["first_"]) | census_first_names()
    family = _words(people["last_"])
    places = _provider_lists(
        "faker.providers.address", ("cities", "city_names", "countries", "states", "provinces", "regions")
    )
    place_names = {fold(p) for values in places.values() for p in values}
    place_names |= {fold(p.strip()) for p in re.split(r"[|\n]", _PLACES) if p.strip()}
    english: set[str] = set()
    try:
        from faker.providers.lorem.en_US import Provider as Lorem

        english = {fold(w) for w in Lorem.word_list}
        english |= {fold(w) for words in Lorem.parts_of_speech.values() for w in words}
    except ImportError:
        pass
    english = {w for w in english if " " not in w} | set(_WORKPLACE_WORDS.split()) | set(_PLACE_WORDS.split())
    return Namebook(frozenset(given), frozenset(family), frozenset(english), frozenset(place_names))


if __name__ == "__main__":
    book = _read()
    json.dump([sorted(book.given), sorted(book.family), sorted(book.words), sorted(book.places)], sys.stdout)
