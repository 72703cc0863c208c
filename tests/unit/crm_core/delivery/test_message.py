"""One recipient's message: headers, tracked links, the pixel, the text alternative."""

from __future__ import annotations

import uuid

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
    message = compose(
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
    assert message["Subject"] == "Oferta pentru Ștefan"
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
