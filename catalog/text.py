"""Word analysis for search: folding, stop words and stemming for Indonesian and English. Pure functions.

The index (catalog.search) analyses records and queries with exactly these functions, so an affixed
form in a query meets its root in a record: "membaca", "bacaan" and "pembaca" all become "baca".
Indonesian words go through PySastrawi (a dictionary of root words, so "menulis" becomes "tulis" and
proper nouns such as "kalimantan" stay whole); a word it leaves unchanged and that looks English goes
through the Snowball English stemmer ("libraries" -> "librari"). Numbers, ISBNs and codes are kept.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

# Function words that carry no meaning in a catalogue search (data: edit freely, then reindex).
STOP_ID = frozenset("""
ada adalah agar akan aku anda antara apa atas atau bagi bahwa bila dalam dan dari dengan di dia
hingga ia ialah ini itu jika juga kami karena ke kepada ketika maka mereka namun oleh pada para
saat sebagai secara sedang serta sudah tentang tersebut untuk yaitu yakni yang
""".split())
STOP_EN = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the their this to was
were will with
""".split())
STOP_WORDS = STOP_ID | STOP_EN
TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*")
HAS_DIGIT = re.compile(r"\d")

_english = Stemmer.Stemmer("english")
_indonesian = None


def _sastrawi() -> object:
    global _indonesian
    if _indonesian is None:  # building its dictionary takes a few milliseconds: only when first needed
        _indonesian = StemmerFactory().create_stemmer()
    return _indonesian


def fold(text: str) -> str:
    """Lower case without accents ("Pérez" -> "perez"); punctuation is left to the tokenizer."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    return "".join(ch for ch in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded words of a text in order, stop words included (for suggestions and phrase display)."""
    return TOKEN.findall(fold(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The search root of one folded word (the same function indexes records and reads queries)."""
    if HAS_DIGIT.search(word) or len(word) < 4:
        return word  # numbers, ISBNs, call numbers, codes and short words stay as they are
    if "-" in word and not word.replace("-", "").isalpha():
        return word
    root = _sastrawi().stem(word)  # type: ignore[attr-defined]
    if root and root != word.replace("-", "") and root.isalpha():
        return root
    if word.isascii() and word.isalpha():
        return _english.stemWord(word)
    return word
