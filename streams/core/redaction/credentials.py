"""Detectors of secrets, passwords and credentials in URLs (pure core).

``SECRET`` follows the style of gitleaks: provider rules with a fixed shape (AWS, GitHub,
GitLab, Slack, Stripe, Google, OpenAI/Anthropic, npm, PyPI keys, private key blocks, JWTs)
and a generic ``api_key=…`` / ``token: …`` rule whose value must look random (entropy
check). ``PASSWORD`` catches passwords given on a command line (``-pSECRET`` for the MySQL
family, ``--password``/``--passwd``/``--pass`` for anything, ``sshpass -p``) and in
assignments (``PASSWORD=…``, ``password: …``, "my password is …").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from streams.core.redaction.checksums import entropy
from streams.core.redaction.span import Span

_PROVIDER_RULES = re.compile(
    "|".join(
        (
            r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",  # AWS access key id
            r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",  # GitHub tokens
            r"\bgithub_pat_[A-Za-z0-9_]{60,255}\b",
            r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
            r"https://hooks\.slack\.com/services/[A-Za-z0-9/_]{20,}",
            r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
            r"\bAIza[0-9A-Za-z_-]{35}",  # Google API key
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}",  # OpenAI / Anthropic
            r"\bnpm_[A-Za-z0-9]{36}\b",
            r"\bpypi-[A-Za-z0-9_-]{50,}",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # JWT
            r"-----BEGIN[A-Z0-9 _-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END[A-Z0-9 _-]{0,40}-----|.*)",
        )
    ),
    re.DOTALL,
)

_GENERIC = re.compile(
    r"(?i)(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?key|(?:access|auth|api|bearer|"
    r"refresh|session)?[_-]?token|bearer|authorization)[\"']?\s*(?:[:=]|:=|=>|\s)\s*(?:bearer\s+|token\s+)?"
    r"[\"']?([A-Za-z0-9_\-./+=~]{16,})"
)


def secrets(text: str) -> Iterator[Span]:
    for m in _PROVIDER_RULES.finditer(text):
        yield Span(m.start(), m.end(), "SECRET")
    for m in _GENERIC.finditer(text):
        value = m.group(1).rstrip(".")
        has_digit = any(ch.isdigit() for ch in value)
        if len(value) >= 16 and has_digit and entropy(value) >= 3.0:
            yield Span(m.start(1), m.start(1) + len(value), "SECRET")


_URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://([^\s/?#@:]+:[^\s/?#]+)@[^\s/?#@]")


def url_credentials(text: str) -> Iterator[Span]:
    if "://" not in text:
        return
    for m in _URL_CREDENTIALS.finditer(text):
        yield Span(m.start(1), m.end(1), "URL_CREDENTIALS")


_MYSQL_FAMILY = r"(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb|mariadb-dump|mysqlsh)"
_PASSWORD_RULES = (
    # mysql -u root -pSECRET db (the value is glued to -p; with a space it is a database name)
    re.compile(_MYSQL_FAMILY + r"\b[^\n|;&]*?\s-p([^\s\"']\S*|\"[^\"]*\"|'[^']*')"),
    # sshpass -p SECRET, redis-cli -a SECRET, htpasswd -b FILE USER SECRET
    re.compile(r"\bsshpass\s+-p\s*(\S+)"),
    re.compile(r"\bredis-cli\b[^\n|;&]*?\s-a\s+(\S+)"),
    # --password=SECRET, --password SECRET, --passwd, --pass, --db-password ...
    re.compile(r"(?i)--(?:[a-z]+-)*(?:password|passwd|pass|pwd)(?:=|\s+)(\"[^\"]*\"|'[^']*'|\S+)"),
    # PASSWORD=…, DB_PASSWORD: …, password = "…"
    re.compile(
        r"(?i)\b(?:[a-z0-9]+[_-])*(?:pg|my|db)?(?:password|passwd|passphrase|pass|pwd)[\"']?\s*(?:=|:=|=>|:)\s*(\"[^\"]*\"|'[^']*'|\S+)"
    ),
    # "my password is hunter2"
    re.compile(r"(?i)\b(?:password|passcode|pin|passphrase)\s+(?:is|was|=)\s+(\S+)"),
)
# -p "$DB_PASS" names a secret and holds none; a name in mixed case ("$KH82HGj") is more likely a password typed
# in another program than a shell variable, and redacting a variable name costs little
_VARIABLE = re.compile(r"\$\{?(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*)\}?|\$\(.*\)")
_PASSWORD_CUES = ("-p", "pass", "Pass", "PASS", "-a", "pwd", "PWD", "pin", "PIN", "Pin")


def passwords(text: str) -> Iterator[Span]:
    if not any(cue in text for cue in _PASSWORD_CUES):
        return
    for rule in _PASSWORD_RULES:
        for m in rule.finditer(text):
            value = m.group(1)
            start, end = m.start(1), m.end(1)
            if value[:1] in "\"'" and len(value) > 2:
                start, end = start + 1, end - 1
            if end > start and not _VARIABLE.fullmatch(text, start, end):
                yield Span(start, end, "PASSWORD")
