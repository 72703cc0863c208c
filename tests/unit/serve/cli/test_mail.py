"""``vettify mail ls|show`` over a real Maildir, as the local SMTP sink writes it."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from crm_core.delivery import mime
from serve.cli import main


def _store(maildir: Path, to: str, subject: str, mtime: float) -> None:
    box = mailbox.Maildir(str(maildir), create=True)
    raw = mime.wire(
        [
            ("Subject", mime.encoded_words(subject)),
            ("From", "news@firma.ro"),
            ("To", to),
            ("Date", "Tue, 01 Dec 2026 10:00:00 +0000"),
        ],
        "Bună ziua\n",
        "<p>Bună ziua</p>",
    )
    key = box.add(raw)
    os.utime(maildir / "new" / key, (mtime, mtime))


def test_ls_lists_newest_first_and_show_prints_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maildir = tmp_path / "mail"
    _store(maildir, "ana@x.ro", "Ofertă de iarnă", 1_000)
    _store(maildir, "ion@x.ro", "Doar azi", 2_000)
    assert main(["mail", "ls", "--maildir", str(maildir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ion@x.ro" in lines[0] and "Doar azi" in lines[0]
    assert "ana@x.ro" in lines[1] and "Ofertă de iarnă" in lines[1]
    assert main(["mail", "show", "2", "--html", "--maildir", str(maildir)]) == 0
    shown = capsys.readouterr().out
    assert "Subject: Ofertă de iarnă" in shown and "Bună ziua" in shown and "<p>Bună ziua</p>" in shown
    with pytest.raises(SystemExit, match="no message '9'"):
        main(["mail", "show", "9", "--maildir", str(maildir)])


def test_no_maildir_says_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no mail yet"):
        main(["mail", "ls", "--maildir", str(tmp_path / "absent")])
