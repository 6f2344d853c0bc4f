"""Quotes from the passage: what debaters may cite, and how a judge who cannot read the passage can
tell a real quote from a made-up one (Khan et al. 2024).

Agents quote in a marked form, `<quote>...</quote>`. Every quote is checked against the passage by
string match after normalising case, punctuation and whitespace, and shown to the judge as
`<v_quote>...</v_quote>` (verified: it is in the passage) or `<u_quote>...</u_quote>` (not found).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

QUOTE = re.compile(r"<quote>(.*?)</quote>", re.IGNORECASE | re.DOTALL)
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
# A debater's own text may try to pass off a made-up quote as verified (`<v_quote>`, with attributes,
# or spelt with a look-alike letter): every tag but the plain <quote> and </quote> is broken first.
_ANY_TAG = re.compile(r"<[^<>\n]{1,80}>")
_QUOTE_TAG = re.compile(r"</?quote>", re.IGNORECASE)

QUOTE_RULES = ("Quotes from the passage are marked: <v_quote>...</v_quote> was found in the passage "
               "(verified), <u_quote>...</u_quote> was not (it may be invented). Only a verified quote is "
               "evidence.")


def normalise_for_match(text: str) -> str:
    """Lower case, every run of punctuation or whitespace as one space (NFKC first)."""
    return " ".join(_NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())


def quote_verified(quote: str, passage: str) -> bool:
    """Whether the quote's words stand in the passage, whole words only ("rain" is not in "training")."""
    wanted = normalise_for_match(quote)
    return bool(wanted) and f" {wanted} " in f" {normalise_for_match(passage)} "


@dataclass(frozen=True)
class QuoteCheck:
    text: str  # the turn with every quote marked verified or unverified
    quotes: int
    verified: int


def mark_quotes(text: str, passage: str) -> QuoteCheck:
    """The turn as the judge reads it: each `<quote>` replaced by a verified or unverified mark."""
    counts = [0, 0]

    def mark(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        counts[0] += 1
        if quote_verified(inner, passage):
            counts[1] += 1
            return f"<v_quote>{inner}</v_quote>"
        return f"<u_quote>{inner}</u_quote>"

    cleaned = _ANY_TAG.sub(lambda m: m.group(0) if _QUOTE_TAG.fullmatch(m.group(0))
                           else "(" + m.group(0)[1:-1] + ")", text)
    return QuoteCheck(QUOTE.sub(mark, cleaned), counts[0], counts[1])
