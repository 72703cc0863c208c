"""``vettify mail ls|show``: the messages the local SMTP sink of ``vettify up`` received (its Maildir).

``ls`` lists them newest first (number, time, recipient, subject); ``show N`` prints one — headers, the text
part, and with ``--html`` the HTML part — where N is the number ``ls`` gave (1 = newest) or a Maildir key.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

from serve.cli.common import settings_from

SHOWN = ("Date", "From", "To", "Reply-To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")


@dataclass(frozen=True)
class Stored:
    key: str
    received: float
    message: EmailMessage


def _maildir(args: argparse.Namespace) -> Path:
    return Path(args.maildir) if args.maildir else settings_from(args).maildir


def stored_messages(maildir: Path) -> list[Stored]:
    """Every message in the Maildir, newest first (by the time the sink stored it)."""
    folders = [maildir / "new", maildir / "cur"]
    if not any(folder.is_dir() for folder in folders):
        raise SystemExit(f"no mail yet: {maildir} does not exist (vettify up creates it; campaigns fill it)")
    found = []
    for folder in folders:
        for path in folder.iterdir() if folder.is_dir() else ():
            parsed = message_from_bytes(path.read_bytes(), policy=default)
            assert isinstance(parsed, EmailMessage)
            found.append(Stored(path.name.split(":")[0], path.stat().st_mtime, parsed))
    return sorted(found, key=lambda s: (s.received, s.key), reverse=True)


def _pick(messages: list[Stored], which: str) -> Stored:
    if which.isdigit() and 1 <= int(which) <= len(messages):
        return messages[int(which) - 1]
    for stored in messages:
        if stored.key == which:
            return stored
    raise SystemExit(f"no message {which!r}: give a number from `vettify mail ls` (1-{len(messages)}) or a key")


def _cmd_ls(args: argparse.Namespace) -> int:
    messages = stored_messages(_maildir(args))
    if not messages:
        print("no messages")
        return 0
    for number, stored in enumerate(messages[: args.limit], start=1):
        m = stored.message
        when = parsedate_to_datetime(m["Date"]).strftime("%Y-%m-%d %H:%M:%S") if m["Date"] else "?"
        print(f"{number:>5}  {when}  {m['To'] or '?'!s:<32.32}  {m['Subject'] or ''}")
    if len(messages) > args.limit:
        print(f"… {len(messages) - args.limit} older (--limit)")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    stored = _pick(stored_messages(_maildir(args)), args.which)
    m = stored.message
    for name in SHOWN:
        if m[name] is not None:
            print(f"{name}: {m[name]}")
    print()
    text = m.get_body(preferencelist=("plain",))
    print(text.get_content() if text is not None else "(no text part)")
    if args.html:
        html = m.get_body(preferencelist=("html",))
        print("--- HTML ---")
        print(html.get_content() if html is not None else "(no HTML part)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mail = sub.add_parser("mail", help="the local SMTP sink's messages (what campaigns sent)")
    actions = mail.add_subparsers(dest="mail_command", required=True)
    for name, func, helptext in (("ls", _cmd_ls, "list messages, newest first"), ("show", _cmd_show, "print one")):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("--maildir", help="the Maildir (default: <data dir>/mail)")
        action.add_argument("--data-dir", help="the engine's data dir (VETTIFY_DATA_DIR)")
        action.set_defaults(func=func)
        if name == "ls":
            action.add_argument("--limit", type=int, default=50)
        else:
            action.add_argument("which", help="number from `vettify mail ls` (1 = newest) or a Maildir key")
            action.add_argument("--html", action="store_true", help="also print the HTML part")
