"""Complaint texts as customers write them, for the demo chain and the classifier's tests:
for each starter type (``complaints.taxonomy.STARTER``) in Indonesian (about two in three)
and English, from several phrasings with slots, then roughed up the way real messages are:
chat slang and abbreviations ("gk", "udh", "lama bgt"), particles ("dong", "sih"), typos,
shouting, "!!!", a word of the other language now and then, and sometimes a second grievance
that belongs to a related type (a long queue *and* a curt teller), so that telling the types
apart is not trivially perfect.

Pure and deterministic: everything random comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from complaints import demo_phrasings as phrasings

# How often each type comes up in a chain's complaints (relative weights): queues and
# miscounted cash most, swallowed cards rarely.
TYPE_WEIGHTS: dict[str, float] = {
    "queue-too-long": 0.22,
    "wrong-amount": 0.15,
    "unfriendly-staff": 0.11,
    "phone-not-answered": 0.09,
    "transfer-failed": 0.08,
    "unexpected-fee": 0.08,
    "wrong-information": 0.07,
    "app-login": 0.06,
    "slow-reply": 0.05,
    "premises": 0.04,
    "cheque-delay": 0.03,
    "card-blocked": 0.02,
}

INDONESIAN_SHARE = 2 / 3

_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"[A-Za-z']+")


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _fill(template: str, language: str, rng: np.random.Generator) -> str:
    slots = phrasings.SLOTS[language]
    return _SLOT.sub(lambda m: _pick(rng, slots[m.group(1)]), template)


def _respell(text: str, table: dict[str, list[str]], level: float, rng: np.random.Generator) -> str:
    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        options = table.get(word.lower())
        if options is None or rng.random() >= level:
            return word
        return _pick(rng, options)

    return _WORD.sub(swap, text)


def _typo(word: str, rng: np.random.Generator) -> str:
    """One slip of the thumb: a letter dropped, doubled, or swapped with the next."""
    at = int(rng.integers(1, len(word) - 1))
    slip = int(rng.integers(3))
    if slip == 0:
        return word[:at] + word[at + 1 :]
    if slip == 1:
        return word[:at] + word[at] + word[at:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def _typos(text: str, rng: np.random.Generator, rate: float = 0.04) -> str:
    return _WORD.sub(
        lambda m: (
            _typo(m.group(0), rng) if len(m.group(0)) >= 4 and rng.random() < rate else m.group(0)
        ),
        text,
    )


def _shout_and_punctuate(text: str, rng: np.random.Generator) -> str:
    text = text.rstrip()
    roll = rng.random()
    if roll < 0.15:
        text = text.rstrip(".") + _pick(rng, ["!!!", "!!", "!!!!", "?!", "...", " !!"])
    elif roll < 0.25:
        text = re.sub(r"[.,!?']", "", text)
    case = rng.random()
    if case < 0.25:
        return text.lower()
    if case < 0.32:
        return text.upper()
    if case < 0.36:  # a few words in capitals for emphasis
        return _WORD.sub(lambda m: m.group(0).upper() if rng.random() < 0.3 else m.group(0), text)
    return text


def _language(rng: np.random.Generator) -> str:
    return "id" if rng.random() < INDONESIAN_SHARE else "en"


def complaint_text(type_code: str, rng: np.random.Generator) -> tuple[str, str]:
    """A customer's complaint of this starter type, as typed: (text, language code)."""
    language = _language(rng)
    shared = [said[language] for pair, said in phrasings.SHARED.items() if type_code in pair]
    roll = rng.random()
    if roll < 0.03:
        template = _pick(rng, phrasings.VAGUE[language])
    elif roll < 0.15 and shared:
        template = _pick(rng, shared[int(rng.integers(len(shared)))])
    else:
        template = _pick(rng, phrasings.TEMPLATES[type_code][language])
    text = _fill(template, language, rng)
    if rng.random() < 0.2:  # a second grievance, of a related type
        other = _pick(rng, phrasings.RELATED[type_code])
        aside = _fill(_pick(rng, phrasings.ASIDES[other][language]), language, rng)
        joiner = ", " if language == "en" else _pick(rng, [", ", ", terus ", ", sudah gitu "])
        text = text.rstrip(".!?") + joiner + aside + "."
    if rng.random() < 0.3:
        text = _pick(rng, phrasings.OPENERS[language]) + text[0].lower() + text[1:]
    if rng.random() < 0.3:
        text = text.rstrip() + " " + _pick(rng, phrasings.CLOSERS[language])
    if rng.random() < 0.12:  # code-mixing
        text = text.rstrip(".") + ", " + _pick(rng, phrasings.MIXED[language]) + "."
    if language == "id":
        level = (0.0, 0.3, 0.6, 0.9)[int(rng.integers(4))]  # from formal to all chat
        text = _respell(text, phrasings.INDONESIAN_SLANG, level, rng)
        if rng.random() < 0.3:
            text = text.rstrip(".") + " " + _pick(rng, phrasings.PARTICLES) + "."
    else:
        text = _respell(text, phrasings.ENGLISH_CHAT, (0.0, 0.0, 0.5)[int(rng.integers(3))], rng)
    text = _typos(text, rng)
    return _shout_and_punctuate(text, rng), language


def remedy_text(rng: np.random.Generator, language: str = "id") -> str:
    """What the customer asks for, in their language (sometimes nothing)."""
    return _pick(rng, phrasings.REMEDIES[language])


def demo_complaint_texts(n: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """``n`` labelled complaints drawn with the chain's ``TYPE_WEIGHTS``:
    (type code, text, language)."""
    codes = list(TYPE_WEIGHTS)
    weights = np.array([TYPE_WEIGHTS[c] for c in codes])
    drawn = rng.choice(len(codes), size=n, p=weights / weights.sum())
    return [(codes[i], *complaint_text(codes[i], rng)) for i in drawn]
