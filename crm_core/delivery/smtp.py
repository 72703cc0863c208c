"""SMTP delivery with aiosmtplib: the URL, a pool of open connections, and what each reply means.

URL forms (``VETTIFY_SMTP_URL``): ``smtp://[user:pass@]host[:port]`` (STARTTLS when the server offers it),
``smtp+starttls://…`` (STARTTLS required), ``smtps://…`` (implicit TLS, port 465), with optional
``?timeout=30``. A reply decides the recipient's fate: 2xx sent; 4xx, a dropped connection or a time-out
deferred (retried with back-off); 5xx bounced (a 5xx to ``RCPT TO`` is a hard bounce: the address is suppressed).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

TLS_MODES = {"smtp": "auto", "smtp+starttls": "starttls", "smtps": "implicit"}
DEFAULT_PORTS = {"auto": 25, "starttls": 587, "implicit": 465}


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    tls: str  # auto | starttls | implicit
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in TLS_MODES:
            raise ValueError(f"SMTP URL scheme must be one of {', '.join(TLS_MODES)}: {url!r}")
        if not parts.hostname:
            raise ValueError(f"SMTP URL has no host: {url!r}")
        tls = TLS_MODES[parts.scheme]
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[tls],
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout_s=float(query.get("timeout", ["30"])[0]),
        )

    def redacted(self) -> str:
        scheme = {v: k for k, v in TLS_MODES.items()}[self.tls]
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


class Fate(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    BOUNCED = "bounced"


@dataclass(frozen=True, slots=True)
class Reply:
    fate: Fate
    code: int | None
    text: str
    hard_bounce: bool = False


def classify(exc: BaseException) -> Reply:
    """What an aiosmtplib failure means for the recipient."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        refused = exc.recipients[0]
        return _by_code(refused.code, refused.message, at_rcpt=True)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _by_code(exc.code, exc.message, at_rcpt=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 100:
        return _by_code(exc.code, exc.message, at_rcpt=False)
    # Disconnects, time-outs, refused connections: nothing was accepted, try again later.
    return Reply(Fate.DEFERRED, None, f"{type(exc).__name__}: {exc}"[:500])


def _by_code(code: int, message: str, *, at_rcpt: bool) -> Reply:
    text = f"{code} {message}"[:500]
    if 400 <= code < 500:
        return Reply(Fate.DEFERRED, code, text)
    if code >= 500:
        return Reply(Fate.BOUNCED, code, text, hard_bounce=at_rcpt)
    return Reply(Fate.DEFERRED, code, text)


class SmtpPool:
    """Up to ``size`` open connections, reused across messages; a connection that failed is closed, not reused."""

    def __init__(self, target: SmtpTarget, size: int) -> None:
        self.target = target
        self.size = size
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            timeout=t.timeout_s,
            use_tls=t.tls == "implicit",
            start_tls={"auto": None, "starttls": True, "implicit": False}[t.tls],
        )
        await client.connect()
        return client

    async def send(self, message: bytes, *, sender: str, recipient: str) -> Reply:
        """One SMTP transaction for one recipient (an idle connection the server dropped is replaced once)."""
        async with self._slots:
            for reused in (not self._idle.empty(), False):
                client: aiosmtplib.SMTP | None = None
                try:
                    client = self._idle.get_nowait() if reused else await self._connect()
                    _, response = await client.sendmail(sender, [recipient], message)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    if client is not None:
                        await _close(client)
                    if reused:
                        continue
                    return classify(exc)
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    if client is not None:
                        await _close(client)
                    return classify(exc)
                self._idle.put_nowait(client)
                return Reply(Fate.SENT, 250, response[:500])
            raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


async def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        if client.is_connected:
            await client.quit()
    client.close()
