"""The dashboard's Serve application in a real browser (Debian's Chromium, headless, driven by Selenium).

Ray Serve with the models, the Streams deployment, PostgreSQL: sign in with a one-time link, see a mention
posted to ``/v1/events`` appear without a reload, find similar ones, open an account and the calls, the
system view's request counts, tenant isolation on the live stream, a ``<script>`` mention shown as text,
a clean console, and a layout that fits 390 px. Screenshots of every view go to
``$VETTIFY_TEST_ARTIFACTS/dashboard`` (default ``artifacts/test/dashboard``).
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.login import mint_ticket
from infra.browser import headless_chromium
from infra.security import mint_token
from models.voice.evaluate import synthesise
from serve.application import wait_running
from serve.dashboard_app import APP_NAME as DASHBOARD_APP
from streams.schemas import Envelope
from tests.integration.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTIFACTS = Path(os.environ.get("VETTIFY_TEST_ARTIFACTS", "artifacts/test")) / "dashboard"
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> the service was great'


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = headless_chromium(tmp_path_factory.mktemp("chromium"), console_log=True)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _headers(stack: ServeStack, tid: str, *scopes: str) -> dict[str, str]:
    token = mint_token(stack.settings, sub="producer", tid=tid, mid="m-1", scopes=scopes)
    return {"authorization": f"Bearer {token}"}


def _post_events(stack: ServeStack, tid: str, events: list[Envelope]) -> None:
    body = "[" + ",".join(e.model_dump_json() for e in events) + "]"
    answer = httpx.post(
        f"{stack.http}/v1/events",
        content=body,
        headers=_headers(stack, tid, "events:write") | {"content-type": "application/json"},
        timeout=120,
    )
    assert answer.status_code == 202 and answer.json()["stored"] == len(events), answer.text


def _post_mention(stack: ServeStack, tid: str, text: str, brand: str = "acme") -> None:
    payload = {"post_id": uuid.uuid4().hex, "brand": brand, "text": text, "author": "@client"}
    _post_events(stack, tid, [Envelope(type="social.twitter.mention", tid=tid, mid="m-1", payload=payload)])


def _pixel(tid: str, session: str, event_name: str) -> Envelope:
    payload = {"pixel_id": "px-1", "event_name": event_name, "session_id": session}
    return Envelope(type="social.facebook.pixel.event", tid=tid, mid="m-1", payload=payload)


def _linkedin(tid: str, kind: str, **extra: str) -> Envelope:
    payload = {"kind": kind, "prospect": {"email": "ana@ceramica.ro", "name": "Ana Bihor"}, "user": "mihai", **extra}
    return Envelope(type="social.linkedin.signal", tid=tid, mid="m-1", payload=payload)


def _post_call(stack: ServeStack, tid: str, tmp: Path) -> str:
    spoken = synthesise(
        "Thanks for the demo. The pricing looks great and we want to sign next week.",
        "en-us",
        150,
        16000,
        "wav",
        tmp,
        0,
    )
    event = Envelope(
        type="media.voice.call.recorded",
        tid=tid,
        mid="m-1",
        payload={
            "call_id": "call-ana-1",
            "audio_b64": base64.b64encode(spoken.read_bytes()).decode(),
            "profile": "fast",
        },
    )
    answer = httpx.post(
        f"{stack.http}/v1/events",
        content=event.model_dump_json(),
        headers=_headers(stack, tid, "events:write") | {"content-type": "application/json"},
        timeout=300,
    )
    assert answer.status_code == 202 and answer.json()["stored"] == 1, answer.text
    calls = httpx.get(
        f"{stack.http}/v1/insights/calls", headers=_headers(stack, tid, "insights:read"), timeout=30
    ).json()
    return str(calls[0]["id"])


def _view(driver: WebDriver, key: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'[data-view-link="{key}"]').click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, f"view-{key}").is_displayed())


def _shot(driver: WebDriver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _mention_texts(driver: WebDriver) -> list[str]:
    items = driver.find_elements(By.CSS_SELECTOR, '#mention-feed [data-testid="mention"] > div:first-child')
    return [i.text for i in items]


@pytest.mark.timeout(600)  # the first test to use the session's Serve stack pays its start-up
def test_the_dashboard_live_in_a_browser(serve_stack: ServeStack, browser: WebDriver, tmp_path: Path) -> None:
    wait_running(DASHBOARD_APP, 120)
    tid, other = f"web-{uuid.uuid4().hex[:8]}", f"web-{uuid.uuid4().hex[:8]}"
    account = httpx.post(
        f"{serve_stack.http}/v1/crm/accounts",
        json={"name": "Ceramica Bihor SRL"},
        headers=_headers(serve_stack, tid, "crm:write", "crm:read"),
        timeout=30,
    )
    assert account.status_code == 201, account.text
    contact = httpx.post(
        f"{serve_stack.http}/v1/crm/contacts",
        json={
            "first_name": "Ana",
            "last_name": "Bihor",
            "email": "ana@ceramica.ro",
            "account_id": account.json()["id"],
        },
        headers=_headers(serve_stack, tid, "crm:write"),
        timeout=30,
    )
    assert contact.status_code == 201, contact.text
    _post_events(serve_stack, tid, [_linkedin(tid, kind, **extra) for kind, extra in (
        ("profile_view", {}), ("event_signup", {"event_name": "Ceramica Expo"}), ("message_reply", {}))])  # fmt: skip
    _post_mention(serve_stack, tid, "Already here before the page opened: slow delivery again")
    call_id = _post_call(serve_stack, tid, tmp_path)
    _post_events(
        serve_stack,
        tid,
        [_pixel(tid, "sess-1", "PageView"), _pixel(tid, "sess-1", "AddToCart"), _pixel(tid, "sess-2", "PageView")],
    )
    other_call = httpx.get(
        f"{serve_stack.http}/v1/insights/calls/{call_id}",
        headers=_headers(serve_stack, other, "insights:read"),
        timeout=30,
    )
    assert other_call.status_code == 404  # another tenant's call does not exist for them
    # Some model traffic for the system view.
    assert (
        httpx.post(
            f"{serve_stack.http}/v1/sentiment", json={"text": "fine"}, headers=_headers(serve_stack, tid), timeout=60
        ).status_code
        == 200
    )

    # Sign in with a one-time link; the ticket leaves the address bar.
    ticket = mint_ticket(serve_stack.settings, tid=tid, mid="m-1", sub="ana")
    browser.get(f"{serve_stack.http}/dashboard/#login={ticket}")
    WebDriverWait(browser, 60).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )
    assert "#login=" not in browser.current_url
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "live-state").text == "live")
    brands = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="brands"]'))
    assert "acme" in brands.text
    _shot(browser, "overview")

    # A mention posted now appears in the open page without a reload; the backfilled one is there too.
    _view(browser, "mentions")
    WebDriverWait(browser, 20).until(lambda d: any("before the page opened" in t for t in _mention_texts(d)))
    posted = time.monotonic()
    _post_mention(serve_stack, tid, "Love the new invoices page, thank you!")
    WebDriverWait(browser, 10, poll_frequency=0.05).until(
        lambda d: "Love the new invoices page" in " ".join(_mention_texts(d))
    )
    assert time.monotonic() - posted < 2.0

    # Another tenant's mention never reaches this page; a <script> mention is shown as text.
    _post_mention(serve_stack, other, "OTHER TENANT secret complaint")
    _post_mention(serve_stack, tid, XSS)
    WebDriverWait(browser, 10).until(lambda d: "the service was great" in " ".join(_mention_texts(d)))
    texts = _mention_texts(browser)
    assert XSS in texts  # literally, tags and all
    assert not any("OTHER TENANT" in t for t in texts)
    assert browser.execute_script("return window.__pwned === undefined")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert  # noqa: B018 - the property raises when no alert is open

    # Find similar from typed text (pgvector k-NN through the public API).
    box = browser.find_element(By.ID, "similar-text")
    box.send_keys("delivery is slow")
    box.submit()
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#similar-results [data-testid="mention"]')
    )
    similar = browser.find_element(By.ID, "similar-results").text
    assert "slow delivery" in similar and "OTHER TENANT" not in similar
    _shot(browser, "mentions")

    # Accounts: open one; Calls: the view loads.
    _view(browser, "accounts")
    WebDriverWait(browser, 20).until(
        ec.element_to_be_clickable((By.XPATH, "//button[text()='Ceramica Bihor SRL']"))
    ).click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="account-name"]').text)
    assert browser.find_element(By.CSS_SELECTOR, '[data-testid="account-name"]').text == "Ceramica Bihor SRL"
    assert "ANAF" in browser.find_element(By.ID, "account-detail").text
    intent = browser.find_element(By.CSS_SELECTOR, '[data-testid="account-intent"]').text
    assert "Ana Bihor" in intent and "replied to a message" in intent
    _shot(browser, "accounts")
    # Prospects: by intent, matched to the contact; one opened shows its relationship with our user.
    _view(browser, "prospects")
    WebDriverWait(browser, 20).until(ec.element_to_be_clickable((By.XPATH, "//button[text()='Ana Bihor']"))).click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="prospect-name"]').text)
    opened = browser.find_element(By.ID, "prospect-detail").text
    assert "matched" in opened and "mihai: strength" in opened and "signed up for an event" in opened
    assert "null" not in opened and "null" not in browser.find_element(By.ID, "account-detail").text
    assert "prior" in browser.find_element(By.ID, "intent-model").text
    _shot(browser, "prospects")
    # Calls: one call in full, its transcript segments with sentiment and the timeline chart.
    _view(browser, "calls")
    WebDriverWait(browser, 20).until(ec.element_to_be_clickable((By.XPATH, "//button[text()='call-ana-1']"))).click()
    transcript = WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, '#call-detail [data-testid="transcript"]')
    )
    assert "pricing" in transcript.text.lower()
    assert transcript.find_elements(By.CSS_SELECTOR, "li .badge")  # per-segment sentiment
    assert browser.find_elements(By.CSS_SELECTOR, '#call-detail [data-testid="call-timeline"] canvas')
    _shot(browser, "calls")
    # Journeys: the pixel funnel (two sessions, one reached consideration).
    _view(browser, "journeys")
    funnel = WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="funnel"]'))
    rows = [r.text.split()[:2] for r in funnel.find_elements(By.TAG_NAME, "tr")]
    assert rows[0] == ["awareness", "2"] and rows[2] == ["consideration", "1"]
    _shot(browser, "journeys")
    # Campaigns: the budget form answers with the reason when no spend was imported.
    _view(browser, "campaigns")
    browser.find_element(By.CSS_SELECTOR, "#view-campaigns form.inline button").click()
    WebDriverWait(browser, 60).until(lambda d: "no channel spend" in d.find_element(By.ID, "view-campaigns").text)
    _shot(browser, "campaigns")
    _view(browser, "brands")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "share-of-voice").text)
    for key in ("journeys", "campaigns", "prospects", "brands"):
        assert "Could not load" not in browser.find_element(By.ID, f"view-{key}").text

    # System: the engine's own metrics, with requests counted.
    _view(browser, "system")
    WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#model-metrics tr[data-model="sentiment"]')
    )
    count = browser.find_element(By.CSS_SELECTOR, '#model-metrics tr[data-model="sentiment"] [data-testid="requests"]')
    assert float(count.text) > 0
    lag = WebDriverWait(browser, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#stream-lag tr[data-event-type="social.twitter.mention"]')
    )
    assert int(lag[0].find_element(By.CSS_SELECTOR, '[data-testid="events"]').text) >= 1
    # Each SLO indicator of the shipped spec, with its budget computed from the same counters.
    # The view re-renders the table as figures refresh: each state is read in one script, never through an
    # element found before (it may be replaced in between: a stale element).
    states = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#slo-budgets tbody tr')]"
        ".map(row => [row.dataset.slo, row.dataset.state]))"
    )
    assert set(states) >= {"sentiment-errors", "sentiment-p95", "crm-p95", "events-p95"}
    for slo in (
        "sentiment-errors",
        "crm-errors",
        "events-p95",
    ):  # requests were counted: from /metrics and /v1/crm/metrics
        assert states[slo] in ("ok", "low", "exhausted"), slo
    assert "call-transcription" in browser.find_element(By.ID, "slo-card").text  # measured by runs only
    _shot(browser, "system")

    # Narrow screens: nothing wider than the viewport.
    browser.set_window_size(390, 844)
    _view(browser, "overview")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth") + 1
    _shot(browser, "overview-390px")
    browser.set_window_size(1280, 900)

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


@pytest.mark.timeout(600)
def test_an_expired_token_shows_the_sign_in_page_with_the_reason(serve_stack: ServeStack, browser: WebDriver) -> None:
    wait_running(DASHBOARD_APP, 120)
    expired = mint_ticket(serve_stack.settings, tid="web-expired", mid="m-1", ttl_s=1)
    time.sleep(1.5)
    browser.get(f"{serve_stack.http}/dashboard/#login={expired}")
    reason = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "sign-in-reason").text)
    assert "expired" in reason
    assert browser.find_element(By.ID, "sign-in").is_displayed()
    _shot(browser, "sign-in-expired")
