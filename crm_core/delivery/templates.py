"""Campaign templates: Jinja2 in a sandbox, auto-escaping HTML, checked against the merge fields at save time.

A template may read only the names in :data:`MERGE_FIELDS` (``{{ contact.first_name | default("there") }}``,
``{{ account.name }}``, ``{{ lead.score }}`` …) plus ``unsubscribe_url``, ``personal_block`` and
``recommendations`` (items for this recipient: :mod:`crm_core.delivery.personalise`). Anything else
— a syntax error, an unknown variable, an unknown attribute of a known one — is refused when the campaign is
created or updated, with the template's field and line, so a typo never reaches 10,000 inboxes.

Empty values (``None``, ``""``) are left out of the context, so ``default(...)`` applies to them as it does to
missing ones; a missing value renders as empty text (typos are caught at save time). The sandbox refuses
attribute access outside plain data (no ``__class__`` walks); HTML output escapes every merge field; the subject
and the text part are rendered without HTML escaping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from infra.errors import InvalidInput

MERGE_FIELDS: Mapping[str, frozenset[str]] = {
    "contact": frozenset({"first_name", "last_name", "email", "title", "phone", "attributes"}),
    "account": frozenset({"name", "city", "industry", "domain", "country", "cui"}),
    "lead": frozenset({"score", "status", "source", "company_name"}),
    "campaign": frozenset({"name"}),
}
PLAIN_NAMES = frozenset({"unsubscribe_url", "personal_block", "recommendations"})
MAX_TEMPLATE_CHARS = 500_000


def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=html, undefined=ChainableUndefined, keep_trailing_newline=True)
    env.globals.clear()  # no range/dict/lipsum/cycler: templates read merge fields, nothing else
    return env


HTML_ENV = _environment(html=True)
TEXT_ENV = _environment(html=False)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    field: str
    line: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "line": self.line, "message": self.message}


def problems(field: str, source: str) -> list[TemplateProblem]:
    """What is wrong with one template (empty list: it compiles and names only known fields)."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return [TemplateProblem(field, None, f"longer than {MAX_TEMPLATE_CHARS} characters")]
    try:
        tree = HTML_ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(field, exc.lineno, exc.message or "syntax error")]
    found: list[TemplateProblem] = []
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    if any(True for _ in tree.find_all(nodes.For)):
        assigned.add("loop")
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or name.name in assigned:
            continue
        if name.name not in MERGE_FIELDS and name.name not in PLAIN_NAMES:
            found.append(TemplateProblem(field, name.lineno, f"unknown field {name.name!r}"))
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name in MERGE_FIELDS:
            known = MERGE_FIELDS[attr.node.name]
            if attr.attr not in known:
                found.append(
                    TemplateProblem(
                        field,
                        attr.lineno,
                        f"unknown field {attr.node.name}.{attr.attr} (known: {', '.join(sorted(known))})",
                    )
                )
    return sorted(found, key=lambda p: (p.line or 0, p.message))


def check(templates: Mapping[str, str | None]) -> None:
    """Raise 422 ``invalid_input`` listing every problem (field, line, message) of the given templates."""
    found = [p for field, source in templates.items() if source for p in problems(field, source)]
    if found:
        first = found[0]
        where = f"{first.field}, line {first.line}" if first.line else first.field
        raise InvalidInput(f"template {where}: {first.message}", template_errors=[p.as_dict() for p in found])


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Any:
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def context(
    *,
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    lead: Mapping[str, Any] | None,
    campaign: Mapping[str, Any],
    unsubscribe_url: str,
    recommendations: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The merge context of one recipient; empty values are left out so ``default`` applies to them."""
    return {
        "contact": _present(contact),
        "account": _present(account or {}),
        "lead": _present(lead or {}),
        "campaign": _present(campaign),
        "unsubscribe_url": unsubscribe_url,
        "recommendations": [_present(item) for item in recommendations or []],
    }


def render(source: str, values: Mapping[str, Any], *, html: bool, personal_block: str | None = None) -> str:
    """One template for one recipient. The personal block is itself a template, escaped where it is HTML."""
    scope = dict(values)
    if personal_block:
        block = render(personal_block, values, html=html)
        scope["personal_block"] = Markup(block) if html else block  # noqa: S704 - rendered with autoescape above
    try:
        return str(_compiled(source, html).render(scope))
    except (SecurityError, UndefinedError) as exc:
        raise InvalidInput(f"template could not be rendered: {exc}") from exc
