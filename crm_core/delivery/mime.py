"""The wire form of a campaign message, written directly: headers, then a text and an HTML part in base64.

The standard library's ``email`` generators re-parse and re-fold every header per message (``EmailMessage``
cost ~2 ms, ``compat32`` ~1 ms of a 10k send's CPU here); these messages always have the same shape, so they
are written out in a few string joins. Non-ASCII header text becomes RFC 2047 encoded words; CR and LF are
removed from every header value (no header injection from merge fields); bodies are base64 in 76-column lines.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence

SPECIALS = set('()<>@,;:\\".[]')
WORD_BYTES = 45  # 45 UTF-8 bytes -> 60 base64 characters: each encoded word stays under 75 columns


def clean(value: str) -> str:
    """A header value on one line."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def encoded_words(value: str) -> str:
    """``value`` as-is when ASCII, else RFC 2047 base64 encoded words (never splitting a character)."""
    value = clean(value)
    if value.isascii():
        return value
    words, chunk = [], ""
    for ch in value:
        if len((chunk + ch).encode()) > WORD_BYTES:
            words.append(chunk)
            chunk = ch
        else:
            chunk += ch
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def mailbox(address: str, name: str | None = None) -> str:
    """``Name <address>`` with the name quoted or encoded as RFC 5322 and 2047 require."""
    address = clean(address)
    if not name:
        return address
    name = clean(name)
    if not name.isascii():
        display = encoded_words(name)
    elif SPECIALS & set(name):
        display = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        display = name
    return f"{display} <{address}>"


def _base64_lines(text: str) -> str:
    return base64.encodebytes(text.encode()).decode().replace("\n", "\r\n")


def _part_headers(subtype: str) -> str:
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'


def wire(headers: Sequence[tuple[str, str]], text: str, html: str | None) -> bytes:
    """The whole message: ``headers`` (already encoded), a text/plain part and, when given, a text/html one."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers) + "MIME-Version: 1.0\r\n"
    if html is None:
        return (head + _part_headers("plain") + _base64_lines(text)).encode("ascii")
    boundary = f"=_vettify_{secrets.token_hex(12)}"
    return (
        head
        + f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\n{_part_headers('plain')}{_base64_lines(text)}"
        + f"--{boundary}\r\n{_part_headers('html')}{_base64_lines(html)}"
        + f"--{boundary}--\r\n"
    ).encode("ascii")
