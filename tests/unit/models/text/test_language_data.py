"""Reading a translation catalogue into (original, translation) pairs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from models.text.language_data import catalogue_pairs, multilingual_sample

PO = """msgid ""
msgstr ""
"Language: ro\\n"

#: forms.py:10
msgid "Enter a valid email address."
msgstr "Introduceți o adresă de email validă."

msgid ""
"Ensure this value has at most %(limit_value)d characters "
"(it has %(show_value)d)."
msgstr ""
"Asigurați-vă că această valoare are cel mult %(limit_value)d caractere "
"(are %(show_value)d)."

msgid "Untranslated message here"
msgstr ""
"""


def test_pairs_join_continued_lines_drop_placeholders_and_skip_untranslated() -> None:
    assert catalogue_pairs(PO) == [
        ("Enter a valid email address.", "Introduceți o adresă de email validă."),
        (
            "Ensure this value has at most characters (it has ).",
            "Asigurați-vă că această valoare are cel mult caractere (are ).",
        ),
    ]


def test_the_sample_reads_catalogues_from_a_wheel_with_english_from_the_originals(tmp_path: Path) -> None:
    wheel = tmp_path / "Django-0-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("django/conf/locale/ro/LC_MESSAGES/django.po", PO)
        archive.writestr("django/conf/locale/xx/LC_MESSAGES/django.po", PO)  # not asked for
    wheel.write_bytes(buffer.getvalue())
    sample = multilingual_sample(wheel, languages=("en", "ro"), min_words=4)
    assert sorted(language for language, _ in sample) == ["en", "en", "ro", "ro"]
    assert ("ro", "Introduceți o adresă de email validă.") in sample
