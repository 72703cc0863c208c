"""The hand-written MIME form parses back, with the standard library, to exactly what was rendered."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from crm_core.delivery import mime

SUBJECT = "Ofertă de iarnă pentru Țară Ștefănești Agro SRL — livrare gratuită în 24 de ore, până la 31 decembrie"


@pytest.mark.parametrize("html", [None, "<p>Bună ziua, <b>Ștefan</b> &amp; echipa</p>\n" * 40])
def test_round_trip(html: str | None) -> None:
    text = "Bună ziua, Ștefan\nLinia a doua: ăâîșț ĂÂÎȘȚ €\n" * 40
    raw = mime.wire(
        [
            ("Subject", mime.encoded_words(SUBJECT)),
            ("From", mime.mailbox("news@firma.ro", "Firma Mărășești SRL")),
            ("To", "ana@example.ro"),
        ],
        text,
        html,
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "Firma Mărășești SRL"
    assert parsed.get_body(preferencelist=("plain",)).get_content() == text  # type: ignore[union-attr]
    if html is not None:
        assert parsed.get_body(preferencelist=("html",)).get_content() == html  # type: ignore[union-attr]
        assert parsed.get_content_type() == "multipart/alternative"


def test_header_values_cannot_inject_headers() -> None:
    assert mime.encoded_words("Hi\r\nBcc: victim@x.ro") == "Hi Bcc: victim@x.ro"
    assert mime.mailbox("a@b.ro\r\nBcc: v@x.ro", "N") == "N <a@b.ro Bcc: v@x.ro>"


def test_display_names_are_quoted_when_they_must_be() -> None:
    assert mime.mailbox("a@b.ro", "Firma SRL") == "Firma SRL <a@b.ro>"
    assert mime.mailbox("a@b.ro", 'Pop, "Ana"') == '"Pop, \\"Ana\\"" <a@b.ro>'
    assert mime.mailbox("a@b.ro") == "a@b.ro"
