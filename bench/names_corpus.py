"""Person names of every origin in the places people type and read them at work, and name-like non-names.

``by_origin(n, seed)`` gives, per origin of ``bench.names_by_origin``, ``n`` labeled texts:
chat lines, mail headers and sign-offs, calendar and window titles, form fields and plain
sentences, some with a cue before the name ("Dear", "From:", "with", "@") and some without
("Tevita Fifita approved the pull request"). ``non_names()`` are texts with capitalised words
that look like names and are not: UI labels ("Grant Access"), streets ("Will Smith Street"),
months, places, products, teams. Gold spans are ``Span(start, end, label)`` as in
``bench.redaction_corpus``.
"""

from __future__ import annotations

import random
import unicodedata

from bench.names_by_origin import NON_NAMES, ORIGINS, family, given
from bench.redaction_corpus import Part, Sample, _assemble


def _ascii(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if c.isascii() and c.isalpha()).lower()


class _Names:
    def __init__(self, origin: str, rng: random.Random) -> None:
        self.rng, self.first, self.last = rng, given(origin), family(origin)

    def given(self) -> str:
        return self.rng.choice(self.first)

    def full(self) -> str:
        return f"{self.given()} {self.rng.choice(self.last)}"

    def email(self, name: str) -> str:
        parts = name.split()
        return f"{_ascii(parts[0])}.{_ascii(parts[-1])}@example.com"


def _contexts(n: _Names) -> list[list[Part]]:
    full, full2, first, first2 = n.full(), n.full(), n.given(), n.given()
    p = "PERSON"
    return [
        # chat
        [(first, p), ": can you review my PR before lunch?"],
        ["ok, I'll ask ", (first, p), " about it"],
        ["thanks ", (first, p), "!"],
        ["@", (first, p), " can you take a look at the failing test"],
        [(full, p), " joined the channel"],
        ["ping ", (full, p), " when the build is green"],
        [(full, p), " approved the pull request"],
        # mail
        ["From: ", (full, p), " <", (n.email(full), "EMAIL"), ">"],
        ["To: ", (full, p)],
        ["Cc: ", (full, p), ", ", (full2, p)],
        ["Dear ", (full, p), ", thanks for the update"],
        ["Best regards,\n", (full, p)],
        ["Kind regards, ", (first, p)],
        ["Hi ", (first, p), ", the contract is attached."],
        # calendar and window titles
        ["1:1 ", (first, p), " / ", (first2, p)],
        [(full, p), " | Slack"],
        ["Chat with ", (full, p), " - Microsoft Teams"],
        ["Interview: ", (full, p), " (Backend) - Google Calendar"],
        ["Re: Offer letter for ", (full, p), " - Outlook"],
        # forms
        ["Name: ", (full, p), "\tEmail: ", (n.email(full), "EMAIL")],
        ["Contact person: ", (full, p)],
        # sentences
        ["meeting with ", (full, p), " at noon"],
        [(full, p), " said the invoice is paid"],
        ["please send it to ", (first, p), " by Friday"],
        ["lunch with ", (first, p), " and ", (first2, p)],
    ]


def _held_out_contexts(n: _Names) -> list[list[Part]]:
    """Written after the finder's cues; its first run (recall 0.83) led to the last changes, so it is seen now."""
    full, first = n.full(), n.given()
    p = "PERSON"
    return [
        ["Can ", (first, p), " join the standup tomorrow?"],
        ["Forwarding this to ", (full, p), " from the payroll team"],
        ["Approved by ", (full, p), " on 3 March"],
        [(first, p), " and I will present the roadmap"],
        ["Signed: ", (full, p)],
        ["Reviewer: ", (full, p)],
        ["Assigned to ", (full, p)],
        [(full, p), " (she/her) - Senior Engineer"],
        ["Thanks again, ", (first, p), ". See you Monday."],
        ["Happy birthday ", (first, p), "!!"],
        ["Onboarding plan for ", (full, p), ".docx - Word"],
        [(full, p), " is presenting - Zoom"],
        ["Please welcome ", (full, p), " to the data team"],
        [(first, p), "'s laptop needs a new charger"],
        ["Emergency contact: ", (full, p), ", ext. 4471"],
    ]


def _unseen_contexts(n: _Names) -> list[list[Part]]:
    """Written after the first round of changes and run once after it (recall 0.933); looked at since."""
    full, first, full2 = n.full(), n.given(), n.full()
    p = "PERSON"
    return [
        ["Invitation: Quarterly review with ", (full, p), " @ Thu 10:00"],
        ["I think ", (first, p), " already fixed that bug"],
        ["Sent from my phone. ", (first, p)],
        ["Hello ", (full, p), ",\nYour password reset link expires soon."],
        ["Out of office: ", (full, p)],
        ["Who is covering for ", (first, p), " this week?"],
        [(full, p), " and ", (full2, p), " are now connected"],
        ["Pay to the order of ", (full, p)],
        ["Ticket assigned to ", (first, p), " by the bot"],
        ["Notes from the call with ", (first, p), " and the vendor"],
        ["Recipient: ", (full, p), "; Amount: 1,200.00"],
        ["cc'ing ", (first, p), " for visibility"],
    ]


def _unseen_2_contexts(n: _Names) -> list[list[Part]]:
    """Written before the second round of changes (after "unseen" had been looked at), and run once after it."""
    full, first, first2 = n.full(), n.given(), n.given()
    p = "PERSON"
    return [
        ["Looping in ", (full, p), " who owns the billing service"],
        [(first, p), " is out sick today, please reach out to ", (first2, p), " instead"],
        ["Great work on the launch, ", (first, p), "!"],
        ["Action items: ", (first, p), " to update the deck, ", (first2, p), " to book the room"],
        ["Interviewer feedback - ", (full, p), ".pdf"],
        ["Call with ", (first, p), " re: contract renewal"],
        ["Can you share the doc with ", (full, p), "?"],
        ["Shoutout to ", (first, p), " for fixing the flaky test"],
        ["Per ", (first, p), "'s email, the deadline moved"],
        ["Hey, is ", (first, p), " around?"],
        ["Organizer: ", (full, p)],
        [(full, p), " shared a file with you"],
        ["Escalated to ", (full, p), " (on call)"],
        ["I'll sync with ", (first, p), " tomorrow"],
        ["Lunch order: ", (first, p), " - veggie wrap"],
    ]


DEV, HELD_OUT, UNSEEN, UNSEEN_2 = "dev", "held-out", "unseen", "unseen-2"


def by_origin(n: int = 120, seed: int = 11, contexts: str = DEV) -> dict[str, list[Sample]]:
    """``n`` texts per origin, each holding one or two names of that origin (the same for the same seed).

    ``contexts``: ``"dev"``, the places the finder's cues were written for; ``"held-out"``, written after
    them and run once before a last round of changes (so no longer unseen); ``"unseen"``, run once at the end.
    """
    make = {DEV: _contexts, HELD_OUT: _held_out_contexts, UNSEEN: _unseen_contexts, UNSEEN_2: _unseen_2_contexts}[
        contexts
    ]
    out: dict[str, list[Sample]] = {}
    for i, origin in enumerate(ORIGINS):
        rng = random.Random(seed * 1000 + i)
        names = _Names(origin, rng)
        out[origin] = [_assemble("name", rng.choice(make(names))) for _ in range(n)]
    return out


def non_names() -> list[Sample]:
    """Texts without a person name whose capitalised words look like one."""
    return [Sample("non-name", text, ()) for text in NON_NAMES]
