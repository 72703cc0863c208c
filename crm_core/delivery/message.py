"""One recipient's e-mail: rendered content, tracked links, the open pixel and the headers mailbox providers expect.

* ``Message-ID`` is ``<delivery-id@sender-domain>``: the same on every retry of that recipient, so a receiving
  server (and the kill drill's count) can tell a retry from a second message.
* RFC 8058 one-click unsubscribe: ``List-Unsubscribe: <https://…/u/TOKEN>`` and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
* Every ``http(s)`` link of the HTML part is rewritten to the click redirect with a signed token naming that
  link; the plain-text part keeps its links as written. The HTML part ends with a 1x1 open pixel.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr
from typing import Any
from uuid import UUID

from crm_core.delivery import mime, templates
from crm_core.delivery.tokens import TokenKind, TrackingToken, sign
from infra.db.tenancy import TenantContext

HREF = re.compile(r"""href\s*=\s*(["'])(https?://[^"'\s<>]+)\1""", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
LINK = re.compile(r"""<a\s[^>]*href\s*=\s*(["'])(https?://[^"']+)\1[^>]*>(.*?)</a>""", re.IGNORECASE | re.DOTALL)
BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table|blockquote)>|<(p|div|h[1-6]|li|tr)\b[^>]*>")
BLANK_LINES = re.compile(r"\n\s*\n+")
PIXEL = '<img src="{src}" width="1" height="1" alt="" style="display:none">'


@dataclass(frozen=True, slots=True)
class Content:
    """What one variant says; ``None`` pieces fall back to the campaign's own."""

    subject: str
    html: str | None
    text: str | None
    personal_block: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    name: str | None = None
    reply_to: str | None = None

    @classmethod
    def parse(cls, value: str) -> Sender:
        name, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(f"not an e-mail address: {value!r}")
        return cls(address=address, name=name or None)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True, slots=True)
class Links:
    """Builds the tracking URLs of one delivery."""

    base_url: str
    secret: bytes
    tenant: TenantContext
    delivery_id: UUID
    ttl_s: int

    def url(self, kind: TokenKind, target: str | None = None) -> str:
        token = TrackingToken(
            kind=kind,
            tenant=self.tenant,
            delivery_id=self.delivery_id,
            expires_at=int(time.time()) + self.ttl_s,
            url=target,
        )
        suffix = ".gif" if kind is TokenKind.OPEN else ""
        return f"{self.base_url.rstrip('/')}/v1/crm/t/{kind.value}/{sign(token, self.secret)}{suffix}"


def message_id(delivery_id: UUID, sender: Sender) -> str:
    return f"<{delivery_id}@{sender.domain}>"


def delivery_of(message_id_header: str) -> UUID | None:
    """The delivery a ``Message-ID`` names (bounce and complaint webhooks quote it), or ``None``."""
    local = message_id_header.strip().strip("<>").split("@", 1)[0]
    try:
        return UUID(local)
    except ValueError:
        return None


def track_links(rendered_html: str, links: Links, *, skip: str) -> str:
    """Rewrite each http(s) ``href`` to the click redirect (the unsubscribe link stays as it is)."""

    def swap(match: re.Match[str]) -> str:
        quote, target = match.group(1), html.unescape(match.group(2))
        if target == skip:
            return match.group(0)
        return f"href={quote}{html.escape(links.url(TokenKind.CLICK, target))}{quote}"

    return HREF.sub(swap, rendered_html)


def text_from_html(rendered_html: str) -> str:
    """A plain-text alternative when the campaign has none: links as ``text (url)``, a line per block element,
    tags dropped, entities decoded, blank runs folded."""
    text = LINK.sub(lambda m: f"{m.group(3)} ({m.group(2)})" if m.group(3).strip() else m.group(2), rendered_html)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


@dataclass(frozen=True, slots=True)
class Composed:
    """One recipient's message: its rendered parts and headers, and :meth:`wire_bytes` as SMTP carries it."""

    headers: tuple[tuple[str, str], ...]
    subject: str
    text: str
    html: str | None

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def wire_bytes(self) -> bytes:
        return mime.wire(
            [(name, mime.encoded_words(value) if name == "Subject" else value) for name, value in self.headers],
            self.text,
            self.html,
        )


def compose(
    *,
    content: Content,
    values: Mapping[str, Any],
    to: str,
    sender: Sender,
    links: Links,
    unsubscribe_url: str,
    now: datetime | None = None,
) -> Composed:
    """Render one recipient's message (subject, text part, tracked HTML part, headers)."""
    subject = mime.clean(templates.render(content.subject, values, html=False, personal_block=content.personal_block))
    rendered_html = (
        templates.render(content.html, values, html=True, personal_block=content.personal_block)
        if content.html
        else None
    )
    if content.text:
        text = templates.render(content.text, values, html=False, personal_block=content.personal_block)
    elif rendered_html is not None:
        text = text_from_html(rendered_html)
    else:
        text = ""
    tracked: str | None = None
    if rendered_html is not None:
        tracked = track_links(rendered_html, links, skip=unsubscribe_url)
        pixel = PIXEL.format(src=html.escape(links.url(TokenKind.OPEN)))
        body_end = tracked.lower().rfind("</body>")
        tracked = tracked[:body_end] + pixel + tracked[body_end:] if body_end >= 0 else tracked + pixel
    headers = [
        ("Subject", subject),
        ("From", mime.mailbox(sender.address, sender.name)),
        ("To", mime.clean(to)),
        *([("Reply-To", mime.clean(sender.reply_to))] if sender.reply_to else []),
        ("Date", format_datetime(now or datetime.now(UTC))),
        ("Message-ID", message_id(links.delivery_id, sender)),
        ("List-Unsubscribe", f"<{unsubscribe_url}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]
    return Composed(headers=tuple(headers), subject=subject, text=text, html=tracked)
