"""What a complaint's text is reduced to before the classifier reads it: lower case, letters
only, Indonesian chat slang and abbreviations written out ("gk" → "tidak", "bgt" →
"banget"), then each word stemmed by Sastrawi ("menunggu" → "tunggu", "antrean" →
"antre").

English words go through the same stemmer unharmed: Sastrawi only strips an affix when what
is left is an Indonesian root in its dictionary, so "waiting", "queue" and "blocked" come out
as they went in. Pure: no Django, no download (the root dictionary ships in the package).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

# Chat spelling → the written word(s). Only spelling: what a word means is the model's job
# ("judes" stays "judes"). Keys are lower case, letters only, as tokens come out of
# ``tokens``; values may be several words.
SLANG: dict[str, str] = {
    # negation
    "gk": "tidak",
    "ga": "tidak",
    "gak": "tidak",
    "ngga": "tidak",
    "nggak": "tidak",
    "ngak": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "kagak": "tidak",
    "ndak": "tidak",
    "tdk": "tidak",
    "tak": "tidak",
    "blm": "belum",
    "blum": "belum",
    "belom": "belum",
    "bkn": "bukan",
    # people
    "sy": "saya",
    "sya": "saya",
    "gw": "saya",
    "gue": "saya",
    "aq": "aku",
    "org": "orang",
    "cs": "customer service",
    "tlr": "teller",
    # little words
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "dr": "dari",
    "utk": "untuk",
    "untk": "untuk",
    "sm": "sama",
    "jg": "juga",
    "aja": "saja",
    "aj": "saja",
    "doang": "saja",
    "krn": "karena",
    "krna": "karena",
    "karna": "karena",
    "trs": "terus",
    "trus": "terus",
    "mulu": "terus",
    "tp": "tapi",
    "tpi": "tapi",
    "kl": "kalau",
    "klo": "kalau",
    "kalo": "kalau",
    "lg": "lagi",
    "jd": "jadi",
    "jdi": "jadi",
    "sdg": "sedang",
    "lgi": "lagi",
    "msh": "masih",
    "masi": "masih",
    "smp": "sampai",
    "sampe": "sampai",
    "pdhl": "padahal",
    "emg": "memang",
    "emang": "memang",
    "gmn": "bagaimana",
    "gimana": "bagaimana",
    "bgmn": "bagaimana",
    "knp": "kenapa",
    "brp": "berapa",
    "bnyk": "banyak",
    "bbrp": "beberapa",
    "dll": "dan lain lain",
    "dpt": "dapat",
    "bs": "bisa",
    "tlg": "tolong",
    "mhn": "mohon",
    "mksh": "terima kasih",
    "makasih": "terima kasih",
    "bener": "benar",
    "pake": "pakai",
    "ngasih": "kasih",
    "kasi": "kasih",
    # time
    "udh": "sudah",
    "udah": "sudah",
    "sdh": "sudah",
    "dah": "sudah",
    "skrg": "sekarang",
    "kmrn": "kemarin",
    "kmarin": "kemarin",
    "sblm": "sebelum",
    "stlh": "setelah",
    "mnt": "menit",
    "dtk": "detik",
    "jm": "jam",
    "hr": "hari",
    # degree
    "bgt": "banget",
    "bngt": "banget",
    "bgd": "banget",
    "bet": "banget",
    "lemot": "lambat",
    "lelet": "lambat",
    # the bank's words
    "antri": "antre",
    "ngantri": "antre",
    "ngantre": "antre",
    "antrian": "antrean",
    "nunggu": "tunggu",
    "nungguin": "tunggu",
    "nelpon": "telepon",
    "nelp": "telepon",
    "telp": "telepon",
    "tlp": "telepon",
    "tlpn": "telepon",
    "tf": "transfer",
    "trf": "transfer",
    "trnsfr": "transfer",
    "rek": "rekening",
    "norek": "nomor rekening",
    "rb": "ribu",
    "rbu": "ribu",
    "jt": "juta",
    "apk": "aplikasi",
    "apl": "aplikasi",
    "pw": "password",
    # English chat
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "cant": "cannot",
    "dont": "do not",
    "didnt": "did not",
    "doesnt": "does not",
    "isnt": "is not",
    "wasnt": "was not",
    "wont": "will not",
    "havent": "have not",
    "im": "i am",
    "ive": "i have",
    "mins": "minutes",
    "acc": "account",
}

# Apostrophes join ("can't" → "cant", then SLANG), everything else but letters splits.
_APOSTROPHE = re.compile(r"['\u2019`]")
# "lama2" and "kali2" are Indonesian shorthand for the doubled word ("lama-lama").
_DOUBLED = re.compile(r"\b([^\W\d_]{2,})2\b")
# A letter said three times or more is said once: "lamaaa" → "lama", "bangettt" → "banget".
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NOT_A_LETTER = re.compile(r"[\W\d_]+")
NUMBER_WORD = "num"  # every figure becomes this: "45 menit" and "Rp 50.000" keep their shape
# Roots Sastrawi gives in more than one spelling ("antriannya" → "antri", "antrean" → "antre").
ROOT_SPELLING = {"antri": "antre"}


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    # Sastrawi's factory wraps its stemmer in a cache that never forgets a word; ``stem``
    # keeps a bounded one instead (a worker lives long and customers' typos are endless).
    return Stemmer(ArrayDictionary(StemmerFactory().get_words()))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Sastrawi's root of one lower-case word (the word itself when it is none of its)."""
    return str(_stemmer().stem(word)) or word


def tokens(text: str) -> list[str]:
    """The text's words, lower case and letters only, figures as ``num``, with the slang
    written out; not yet stemmed."""
    text = _APOSTROPHE.sub("", text.casefold())
    text = _DOUBLED.sub(r"\1 \1", text)
    text = _NUMBER.sub(f" {NUMBER_WORD} ", text)
    text = _STRETCHED.sub(r"\1", text)
    words: list[str] = []
    for word in _NOT_A_LETTER.split(text):
        if word:
            words.extend(SLANG.get(word, word).split())
    return words


def normalise(text: str) -> str:
    """The text as the classifier reads it: words of ``tokens``, stemmed, one space apart."""
    roots = (stem(word) for word in tokens(text))
    return " ".join(ROOT_SPELLING.get(root, root) for root in roots)
