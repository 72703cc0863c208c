"""SMTP URLs and what each reply means for a recipient."""

from __future__ import annotations

import aiosmtplib
import pytest

from crm_core.delivery.smtp import Fate, SmtpTarget, classify


def test_url_forms() -> None:
    plain = SmtpTarget.parse("smtp://127.0.0.1:2525")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("127.0.0.1", 2525, "auto", None)
    tls = SmtpTarget.parse("smtps://user%40x.ro:p%3Ass@mail.x.ro?timeout=5")
    assert (tls.port, tls.tls, tls.username, tls.password, tls.timeout_s) == (465, "implicit", "user@x.ro", "p:ss", 5.0)
    assert SmtpTarget.parse("smtp+starttls://mail.x.ro").port == 587
    assert tls.redacted() == "smtps://user@x.ro:***@mail.x.ro:465"
    for bad in ("http://x", "smtp://", "smtp:///path"):
        with pytest.raises(ValueError, match="SMTP URL"):
            SmtpTarget.parse(bad)


def test_replies() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no user", "a@b.ro")])
    hard = classify(refused)
    assert (hard.fate, hard.code, hard.hard_bounce) == (Fate.BOUNCED, 550, True)
    busy = classify(aiosmtplib.SMTPRecipientRefused(450, "4.2.1 busy", "a@b.ro"))
    assert (busy.fate, busy.code) == (Fate.DEFERRED, 450)
    data = classify(aiosmtplib.SMTPDataError(554, "rejected"))
    assert (data.fate, data.hard_bounce) == (Fate.BOUNCED, False)
    assert classify(aiosmtplib.SMTPServerDisconnected("gone")).fate is Fate.DEFERRED
    assert classify(TimeoutError()).fate is Fate.DEFERRED
