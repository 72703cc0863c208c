"""A labelled multilingual sample for the language detector: Django's translation catalogues.

Django's wheel ships its interface messages translated into some hundred languages by people
(``django/**/locale/<lang>/LC_MESSAGES/django.po``): real sentences with a known language. The sample takes
each catalogue's translations of four words or more (placeholders such as ``%(name)s`` and markup removed),
the English originals (``msgid``) for English, and up to ``per_language`` of each, chosen by a hash of the
text so the sample does not move between runs. The wheel is fetched by pip once into the data cache
(:mod:`models.package_files`) or read from ``VETTIFY_DJANGO_WHEEL``.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from models.package_files import cache_folder, explicit_path, package_archive

DJANGO = "django==5.2.19"
LANGUAGES = ("en", "ro", "de", "fr", "es", "it", "hu", "pl", "nl", "pt")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}|<[^>]+>|&\w+;")
_ENTRY = re.compile(r'^msgid "(.*)"\n((?:".*"\n)*)msgstr "(.*)"\n((?:".*"\n)*)', re.MULTILINE)


def django_wheel(path: Path | None = None) -> Path:
    explicit = explicit_path(path, "VETTIFY_DJANGO_WHEEL")
    if explicit is not None:
        return explicit
    folder = cache_folder("django-wheel")
    return package_archive(DJANGO, "[dD]jango-*.whl", folder, sdist=False, env_var="VETTIFY_DJANGO_WHEEL")


def _joined(first: str, rest: str) -> str:
    parts = [first] + [line[1:-1] for line in rest.splitlines() if line]
    return "".join(parts).replace('\\"', '"').replace("\\n", " ")


def _clean(text: str) -> str:
    return " ".join(_PLACEHOLDER.sub(" ", text).split())


def catalogue_pairs(po_text: str) -> list[tuple[str, str]]:
    """(English original, translation) pairs of one ``.po`` file; untranslated entries are skipped."""
    pairs = []
    for match in _ENTRY.finditer(po_text):
        original = _clean(_joined(match.group(1), match.group(2)))
        translated = _clean(_joined(match.group(3), match.group(4)))
        if original and translated:
            pairs.append((original, translated))
    return pairs


def _stable_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def multilingual_sample(
    wheel: Path | None = None, *, languages: tuple[str, ...] = LANGUAGES, per_language: int = 150, min_words: int = 4
) -> list[tuple[str, str]]:
    """``(language, text)`` pairs, at most ``per_language`` per language."""
    texts: dict[str, set[str]] = {language: set() for language in languages}
    with zipfile.ZipFile(django_wheel(wheel)) as archive:
        for name in archive.namelist():
            match = re.search(r"/locale/([a-z]{2})/LC_MESSAGES/django\.po$", name)
            if not match or match.group(1) not in languages:
                continue
            for original, translated in catalogue_pairs(archive.read(name).decode("utf-8", errors="replace")):
                if len(translated.split()) >= min_words:
                    texts[match.group(1)].add(translated)
                if "en" in texts and len(original.split()) >= min_words:
                    texts["en"].add(original)
    sample = []
    for language in languages:
        chosen = sorted(texts[language], key=_stable_key)[:per_language]
        sample += [(language, text) for text in chosen]
    return sample
