"""Campaign templates: refused at save time with the line, rendered per recipient with escaping."""

from __future__ import annotations

import pytest

from crm_core.delivery import templates
from infra.errors import InvalidInput


def values(**contact: object) -> dict[str, object]:
    return templates.context(
        contact=contact,
        account={"name": "Transilvania Logistic SRL", "city": None},
        lead=None,
        campaign={"name": "Winter"},
        unsubscribe_url="https://x.test/u/T",
    )


def test_default_applies_to_missing_and_empty_values() -> None:
    source = 'Bună {{ contact.first_name | default("there") }}, {{ account.name }}!'
    assert templates.render(source, values(first_name="Ana"), html=False) == "Bună Ana, Transilvania Logistic SRL!"
    assert templates.render(source, values(first_name=""), html=False) == "Bună there, Transilvania Logistic SRL!"
    assert templates.render(source, values(first_name=None), html=False) == "Bună there, Transilvania Logistic SRL!"


def test_html_escapes_merge_fields_and_text_does_not() -> None:
    hostile = "<script>alert(1)</script> & Co"
    html = templates.render("<p>{{ contact.first_name }}</p>", values(first_name=hostile), html=True)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert templates.render("{{ contact.first_name }}", values(first_name=hostile), html=False) == hostile


def test_personal_block_is_a_template_escaped_in_html() -> None:
    rendered = templates.render(
        "<div>{{ personal_block }}</div>",
        values(first_name="<b>Ana</b>"),
        html=True,
        personal_block="Recommended for {{ contact.first_name }}",
    )
    assert rendered == "<div>Recommended for &lt;b&gt;Ana&lt;/b&gt;</div>"


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("Hello\n{{ contact.first_nam }}", 2, "contact.first_nam"),
        ("{{ contactt.first_name }}", 1, "'contactt'"),
        ("a\nb\n{% if %}", 3, ""),
        ("{{ account.name }\n", 1, ""),
    ],
)
def test_problems_name_the_line(source: str, line: int, fragment: str) -> None:
    found = templates.problems("html", source)
    assert found, source
    assert found[0].line == line
    assert fragment in found[0].message


def test_check_raises_422_with_every_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        templates.check({"subject": "Hi {{ contact.nme }}", "html": "<p>{{ lead.scor }}</p>", "body": None})
    assert caught.value.status == 422
    assert "subject, line 1" in caught.value.detail
    assert [p["field"] for p in caught.value.extra["template_errors"]] == ["subject", "html"]


def test_loops_and_set_are_allowed_over_known_fields() -> None:
    source = (
        "{% set n = contact.first_name %}{% for k in contact.attributes %}{{ loop.index }}{{ k }}{% endfor %}{{ n }}"
    )
    assert templates.problems("html", source) == []
    assert templates.render(source, values(first_name="Ana", attributes={"a": 1}), html=False) == "1aAna"


def test_sandbox_refuses_attribute_walks() -> None:
    # The validator already refuses unknown fields; the sandbox is the second wall at render time:
    # an unsafe attribute is undefined there, so nothing about Python's objects reaches a message.
    source = "{{ contact.first_name.__class__.__mro__ }}|{{ contact.first_name.format.__globals__ }}"
    assert templates.render(source, values(first_name="Ana"), html=False) == "|"
