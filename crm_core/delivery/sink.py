"""A local SMTP server (aiosmtpd) that keeps every message it accepts in a Maildir.

``vettify up`` runs it when no ``VETTIFY_SMTP_URL`` is set, so a new user sees the real messages a campaign
sends (``vettify mail ls|show``); the tests and the delivery benchmark run it as a real server in its own
process. ``--reply ADDRESS=CODE[:TIMES]`` makes it answer ``RCPT TO`` for that address with CODE (421, 450,
550 …), for the first TIMES tries or always, so transient and permanent failures can be exercised for real;
``--latency-ms`` delays each MAIL, RCPT and DATA reply, as a provider across a network would.

    python -m crm_core.delivery.sink --maildir DIR --port 2525 --reply gone@example.ro=550 --reply slow@x.ro=450:2
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local_servers import RunningServer, spawn, tcp_open, wait_until
from infra.net import free_port

REASONS = {
    421: "4.3.2 Service shutting down, try again later",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Local error, try again later",
    550: "5.1.1 No such user here",
    552: "5.2.2 Mailbox full",
    553: "5.1.3 Bad recipient address syntax",
}


@dataclass(frozen=True, slots=True)
class Scripted:
    code: int
    times: int | None  # None: always


def parse_reply(spec: str) -> tuple[str, Scripted]:
    address, _, answer = spec.partition("=")
    code, _, times = answer.partition(":")
    if not address or "@" not in address or not code.isdigit() or not 400 <= int(code) < 600:
        raise ValueError(f"--reply wants ADDRESS=CODE[:TIMES] with a 4xx/5xx code, got {spec!r}")
    return address.lower(), Scripted(int(code), int(times) if times else None)


class MaildirHandler:
    """aiosmtpd handler: scripted RCPT answers, then each accepted message into the Maildir."""

    def __init__(self, maildir: Path, replies: dict[str, Scripted], latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(str(maildir), create=True)  # creates cur/new/tmp unless the folder exists
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self.replies = replies
        self.tries: Counter[str] = Counter()
        self.accepted = 0

    async def _network(self) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        await self._network()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        await self._network()
        key = address.lower()
        self.tries[key] += 1
        scripted = self.replies.get(key)
        if scripted is not None and (scripted.times is None or self.tries[key] <= scripted.times):
            return f"{scripted.code} {REASONS.get(scripted.code, 'Scripted reply')}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await self._network()
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        await asyncio.to_thread(self.box.add, data)
        self.accepted += 1
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, maildir: Path, replies: dict[str, Scripted], latency_s: float = 0.0) -> None:
    from aiosmtpd.smtp import SMTP

    handler = MaildirHandler(maildir, replies, latency_s)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="vettify-sink", data_size_limit=50 << 20, enable_SMTPUTF8=True), host, port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"SMTP sink on {host}:{port}, Maildir {maildir}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core.delivery.sink", description=__doc__.split("\n")[0])
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--reply", action="append", default=[], metavar="ADDRESS=CODE[:TIMES]")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay each MAIL, RCPT and DATA reply (a provider far away)"
    )
    args = parser.parse_args(argv)
    try:
        replies = dict(parse_reply(spec) for spec in args.reply)
    except ValueError as exc:
        parser.error(str(exc))
    asyncio.run(serve(args.host, args.port, args.maildir, replies, args.latency_ms / 1000))
    return 0


def message_ids(maildir: Path) -> Counter[str]:
    """How many copies of each ``Message-ID`` the Maildir holds (counts deliveries; reads headers only)."""
    ids: Counter[str] = Counter()
    for folder in ("new", "cur"):
        for path in (maildir / folder).iterdir():
            with path.open("rb") as handle:
                for line in handle:
                    if line.lower().startswith(b"message-id:"):
                        ids[line.split(b":", 1)[1].strip().decode()] += 1
                        break
                    if line in (b"\n", b"\r\n"):  # end of the headers
                        break
    return ids


def start_sink(
    workdir: Path,
    *,
    maildir: Path | None = None,
    replies: list[str] | tuple[str, ...] = (),
    latency_ms: float = 0.0,
    timeout_s: float = 20.0,
) -> RunningServer:
    """The sink in its own process on a free loopback port; ``url`` is its ``smtp://`` URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    box = maildir or workdir / "maildir"
    argv = [sys.executable, "-m", "crm_core.delivery.sink", "--maildir", str(box), "--port", str(port)]
    for spec in replies:
        argv += ["--reply", spec]
    if latency_ms:
        argv += ["--latency-ms", str(latency_ms)]
    log_path = workdir / "smtp-sink.log"
    process = spawn(argv, log_path, owned=True)  # a SIGKILLed `vettify up` leaves no sink behind
    wait_until("smtp-sink", lambda: tcp_open(port), process, log_path, timeout_s)
    return RunningServer("smtp-sink", f"smtp://127.0.0.1:{port}", process, log_path, port)


if __name__ == "__main__":
    sys.exit(main())
