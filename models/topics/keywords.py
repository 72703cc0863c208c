"""Readable topic labels: the words that set a topic apart from the brand's other topics.

A mention's words are folded (case and diacritics, :func:`infra.text.fold`), with links, @handles, e-mail
addresses, numbers, words under three letters and English/Romanian stop words left out; a hashtag counts as
its word. Handles and addresses are left out on purpose: a label must not name a person.

A topic's label is its top words by class-based TF-IDF (c-TF-IDF, as BERTopic labels its clusters): a
word's share of the topic's words times ``log(1 + A / f)``, where ``f`` is the word's count over all of the
brand's topics and ``A`` the mean number of words per topic. A word every topic uses ("flight" in an
airline's mentions) sinks; the word this topic is about rises.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from infra.text import fold

_ROMANIAN = (
    "azi ieri maine decat dupa langa niste doar cumva oricum "
    "acea aceasta aceea acei aceia acel acela acele acelea acest acesta aceste acestea acestei acestui acolo acum "
    "adica ai aia aici al ala ale alt alta alte altele altfel altul am apoi ar are as asa asta astea astfel "
    "asupra atat atata atunci au avea avem aveti avut ba bine ca cand care careia carora caruia cat cate cati "
    "catre ce cea cei cel cele celor ceva chiar cine cineva cu cum cumva da daca dar de deci deja desi despre din "
    "dintr dintre doar este eu fara fi fie fiecare fiind foarte fost iar ii il in inca inainte insa intr intre "
    "isi la le lor lui mai mea mei mele mereu meu mi mie mult multa multe multi ne nici nimic noi nostru noastra "
    "nu numai ori pana pe pentru prea prin sa sau se si sine sint sunt spre sub sus ta tale tau te ti toata toate "
    "toti tot totul tu un una unde unei unele uneori unii unor unui unul vor voi vom vreo vreun"
)
ROMANIAN_STOP_WORDS = frozenset(_ROMANIAN.split())
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | ROMANIAN_STOP_WORDS | {"amp", "http", "https", "www", "via"}
MAX_TERMS = 100  # words kept per topic: enough for a label and for c-TF-IDF against the others
LABEL_WORDS = 5

_DROP = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+|@[\w.]+")
_WORD = re.compile(r"#?([^\W\d_][\w'-]*[^\W_])")


def words(text: str) -> list[str]:
    """The label-worthy words of a mention, folded, in order (repeats kept)."""
    out = []
    for match in _WORD.finditer(_DROP.sub(" ", text)):
        word = fold(match.group(1)).strip("'-")
        if len(word) >= 3 and "'" not in word and word not in STOP_WORDS:  # contractions: function words
            out.append(word)
    return out


def add_terms(terms: Mapping[str, int], text: str, *, keep: int = MAX_TERMS) -> dict[str, int]:
    """``terms`` with the mention's words counted in (each word once per mention), trimmed to the ``keep``
    most frequent (ties: alphabetical, so replicas agree)."""
    counts = Counter(terms)
    counts.update(set(words(text)))
    return merge_terms(counts, {}, keep=keep)


def remove_terms(terms: Mapping[str, int], texts: Iterable[str]) -> dict[str, int]:
    """``terms`` without the words ``texts`` added (each once per text, as :func:`add_terms` counted them);
    a word whose count reaches 0 goes. Words trimmed off the top-``MAX_TERMS`` earlier are simply absent."""
    counts = Counter(terms)
    for text in texts:
        counts.subtract(set(words(text)))
    return {w: c for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c > 0}


def merge_terms(a: Mapping[str, int], b: Mapping[str, int], *, keep: int = MAX_TERMS) -> dict[str, int]:
    counts = Counter(a)
    counts.update(b)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep])


def labels(topics: Mapping[str, Mapping[str, int]], *, top: int = LABEL_WORDS) -> dict[str, list[str]]:
    """Per topic id, its ``top`` words by c-TF-IDF against the other topics given."""
    totals: Counter[str] = Counter()
    sizes = {}
    for key, terms in topics.items():
        totals.update(terms)
        sizes[key] = sum(terms.values())
    if not topics:
        return {}
    mean_words = sum(sizes.values()) / len(topics)
    out = {}
    for key, terms in topics.items():
        size = sizes[key] or 1
        scored = [((count / size) * math.log(1 + mean_words / totals[w]), w) for w, count in terms.items()]
        out[key] = [w for _, w in sorted(scored, key=lambda sw: (-sw[0], sw[1]))[:top]]
    return out


def label_text(label: Iterable[str]) -> str:
    return " · ".join(label)
