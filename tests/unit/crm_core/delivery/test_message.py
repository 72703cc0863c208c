"""One recipient's message: headers, tracked links, the pixel, the text alternative."""

from __future__ import annotations

import uuid
from email import message_from_bytes
from email.policy import default

from crm_core.delivery import templates
from crm_core.delivery.message import Content, Links, Sender, compose, delivery_of
from crm_core.delivery.tokens import TokenKind, verify
from infra.db.tenancy import TenantContext

SECRET = b"s" * 32


def test_compose() -> None:
    delivery_id = uuid.uuid4()
    links = Links("https://crm.example.ro", SECRET, TenantContext(tid="t", mid="m"), delivery_id, 3600)
    unsubscribe = links.url(TokenKind.UNSUBSCRIBE)
    html = (
        '<html><body><p>Salut {{ contact.first_name }}</p><a href="https://shop.ro/oferta?a=1&amp;b=2">Oferta</a>'
        '<a href="{{ unsubscribe_url }}">Dezabonare</a><a href="mailto:x@y.ro">mail</a></body></html>'
    )
    composed = compose(
        content=Content(subject="Oferta pentru {{ contact.first_name }}", html=html, text=None),
        values=templates.context(
            contact={"first_name": "Ștefan"},
            account=None,
            lead=None,
            campaign={"name": "c"},
            unsubscribe_url=unsubscribe,
        ),
        to="stefan@example.ro",
        sender=Sender(address="news@firma.ro", name="Firma", reply_to="vanzari@firma.ro"),
        links=links,
        unsubscribe_url=unsubscribe,
    )
    message = message_from_bytes(composed.wire_bytes(), policy=default)  # as the receiving side reads it
    assert composed.subject == message["Subject"] == "Oferta pentru Ștefan"
    assert message["From"] == "Firma <news@firma.ro>"
    assert message["Message-ID"] == f"<{delivery_id}@firma.ro>"
    assert delivery_of(message["Message-ID"]) == delivery_id
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == "vanzari@firma.ro"
    html_part = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text_part = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://shop.ro/oferta" not in html_part  # rewritten to the click redirect
    assert unsubscribe.replace("&", "&amp;") in html_part or unsubscribe in html_part  # not wrapped
    assert 'href="mailto:x@y.ro"' in html_part
    click = html_part.split('href="https://crm.example.ro/v1/crm/t/c/')[1].split('"')[0]
    parsed = verify(click, SECRET, kind=TokenKind.CLICK)
    assert parsed is not None and parsed.url == "https://shop.ro/oferta?a=1&b=2"
    assert "/v1/crm/t/o/" in html_part and html_part.index("/t/o/") < html_part.index("</body>")
    assert "Salut Ștefan" in text_part and "<p>" not in text_part
    assert composed.html is not None and composed.html.strip() == html_part.strip()


def test_text_alternative_from_html() -> None:
    from crm_core.delivery.message import text_from_html

    rendered = (
        '<html><body><h1>Ofertă</h1><p class="x">Bună &amp; salut,<br>rândul doi</p>'
        '<div><a href="https://shop.ro/a?x=1&amp;y=2">vezi <b>oferta</b></a></div><ul><li>unu</li><li>doi</li></ul>'
        "</body></html>"
    )
    assert text_from_html(rendered) == (
        "Ofertă\n\nBună & salut,\nrândul doi\n\nvezi oferta (https://shop.ro/a?x=1&y=2)\n\nunu\n\ndoi\n"
    )
