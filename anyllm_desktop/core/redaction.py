"""Personal data taken out of text before it leaves for a cloud provider: e-mail addresses,
phone numbers, IBANs and payment card numbers (Luhn-checked). What was removed is counted by
kind, for the user and the outbound log; the removed values are never kept."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
#: International (+49 30 …), with an area code in parentheses, national (0…), or 555-123-4567.
_PHONE = re.compile(
    r"(?<![\w+-])(?:(?:\+\d{1,3}[ .-]?|\(\d{2,5}\)[ .-]?|0)\d[\d .-]{5,16}\d"
    r"|\d{3}[-. ]\d{3}[-. ]\d{4})(?![\w-])"
)

KINDS = ("email", "iban", "card", "phone")


@dataclass
class Redactions:
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """E.g. "2 e-mail addresses, 1 phone number"; empty when nothing was removed."""
        names = {"email": "e-mail address", "iban": "IBAN", "card": "card number",
                 "phone": "phone number"}  # fmt: skip
        parts = [f"{n} {names[k]}{'es' if k == 'email' and n > 1 else 's' if n > 1 else ''}"
                 for k, n in self.counts.items() if n]  # fmt: skip
        return ", ".join(parts)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def redact(text: str, found: Redactions) -> str:
    """``text`` with personal data replaced by ``[email removed]`` and the like."""

    def replace(kind: str, check: object = None) -> object:
        def substitute(match: re.Match[str]) -> str:
            value = match.group(0)
            if callable(check) and not check(value):
                return value
            found.counts[kind] += 1
            return f"[{kind} removed]"

        return substitute

    text = _EMAIL.sub(replace("email"), text)  # type: ignore[arg-type]
    text = _IBAN.sub(replace("iban"), text)  # type: ignore[arg-type]
    card = replace("card", lambda v: _luhn(re.sub(r"\D", "", v)))
    text = _CARD.sub(card, text)  # type: ignore[arg-type]
    phone = replace("phone", lambda v: 8 <= len(re.sub(r"\D", "", v)) <= 15)
    return _PHONE.sub(phone, text)  # type: ignore[arg-type]
