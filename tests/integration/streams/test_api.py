"""``POST /v1/events`` and ``/v1/insights/*`` through Ray Serve's HTTP proxy (gateway → Streams deployment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from infra.security import mint_token
from tests.integration.conftest import ServeStack
from tests.integration.streams.conftest import Tweet, count, create_account, envelope, mention

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _headers(stack: ServeStack, tenant: dict[str, str], scopes: tuple[str, ...]) -> dict[str, str]:
    token = mint_token(stack.settings, sub="producer", tid=tenant["tid"], mid=tenant["mid"], scopes=scopes)
    return {"authorization": f"Bearer {token}"}


async def test_events_over_http_are_stored_once_and_queryable(
    serve_stack: ServeStack, admin_pool: asyncpg.Pool, labeled_tweets: list[Tweet], tenant: dict[str, str]
) -> None:
    account = await create_account(admin_pool, tenant)
    events = [mention(t, tenant, i) for i, t in enumerate(labeled_tweets[:30])]
    events[0] = envelope(
        "social.twitter.mention",
        {"post_id": "acct", "brand": "acme", "text": labeled_tweets[0].text, "account_id": str(account)},
        tenant,
    )
    body = "[" + ",".join(e.model_dump_json() for e in events) + "]"
    write = _headers(serve_stack, tenant, ("events:write",))
    read = _headers(serve_stack, tenant, ("insights:read",))
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=120) as http:
        anonymous = await http.post("/v1/events", content=body)
        assert anonymous.status_code == 401, anonymous.text
        assert (await http.post("/v1/events", content=body, headers=read)).status_code == 403
        first = await http.post("/v1/events", content=body, headers=write | {"content-type": "application/json"})
        assert first.status_code == 202, first.text
        assert first.json()["stored"] == 30
        again = await http.post("/v1/events", content=body, headers=write | {"content-type": "application/json"})
        assert again.json()["duplicate"] == 30
        assert await count(admin_pool, "ai.social_insights", tenant) == 30

        # A batch mixing a foreign tenant's event with a valid one: one dead letter, one stored.
        foreign = mention(labeled_tweets[40], {"tid": "someone-else", "mid": "m-1"}, 40)
        mixed = json.dumps(
            [json.loads(foreign.to_json()), json.loads(mention(labeled_tweets[41], tenant, 41).to_json())]
        )
        answer = (await http.post("/v1/events", content=mixed, headers=write)).json()
        assert (answer["stored"], answer["dead_lettered"]) == (1, 1)
        assert "wrong tenant" in answer["results"][0]["reason"]

        broken = await http.post("/v1/events", content=b"{oops", headers=write)
        assert broken.status_code == 400 and broken.json()["result"]["outcome"] == "dead_lettered"
        assert broken.headers["content-type"].startswith("application/problem+json")
        assert broken.json()["code"] == "malformed_request"
        huge = await http.post("/v1/events", content=b"[" + b" " * (9 << 20) + b"]", headers=write)
        assert huge.status_code == 413

        similar = await http.post(
            "/v1/insights/mentions/similar", json={"text": labeled_tweets[3].text, "k": 3}, headers=read
        )
        assert similar.status_code == 200, similar.text
        assert similar.json()[0]["text"] == labeled_tweets[3].text
        bad = await http.post("/v1/insights/mentions/similar", json={"k": 3}, headers=read)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
        timeline = (await http.get("/v1/insights/sentiment", params={"brand": "acme"}, headers=read)).json()
        assert sum(b["mentions"] for b in timeline) == 31
        summary = await http.get(f"/v1/insights/accounts/{account}", headers=read)
        assert summary.status_code == 200 and summary.json()["mentions"] == 1
        unknown = await http.get(f"/v1/insights/accounts/{uuid.uuid4()}", headers=read)
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"

        # The tenant reads its own dead letters, newest first, a page at a time; another tenant sees none.
        letters = (await http.get("/v1/events/dead-letters", params={"limit": 1}, headers=read)).json()
        assert letters["items"][0]["body_preview"] == "{oops" and "JSON" in letters["items"][0]["reason"]
        assert letters["next_cursor"] is not None
        older = await http.get(
            "/v1/events/dead-letters", params={"limit": 1, "cursor": letters["next_cursor"]}, headers=read
        )
        assert older.status_code == 200 and older.json()["items"][0]["seq"] < letters["items"][0]["seq"]
        stranger = _headers(serve_stack, {"tid": "stranger", "mid": "m-1"}, ("insights:read",))
        assert (await http.get("/v1/events/dead-letters", headers=stranger)).json()["items"] == []
        ready = (await http.get("/readyz")).json()
        assert "streams" in ready["models"]


def test_the_cli_lists_a_tenants_dead_letters(serve_stack: ServeStack, tenant: dict[str, str]) -> None:
    env = {**os.environ, "VETTIFY_DATABASE_URL": serve_stack.database.urls.app}
    with httpx.Client(base_url=serve_stack.http, timeout=60) as http:
        write = _headers(serve_stack, tenant, ("events:write",))
        assert http.post("/v1/events", content=b"not json at all", headers=write).status_code == 400
    listing = subprocess.run(
        [
            str(Path(sys.executable).parent / "vettify"),
            "events",
            "dead-letters",
            "--tid",
            tenant["tid"],
            "--mid",
            tenant["mid"],
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert "http" in listing.stdout and "Invalid JSON" in listing.stdout, listing.stdout


async def test_a_draft_posts_reach_is_scored_over_http_against_the_stored_history(
    serve_stack: ServeStack, tenant: dict[str, str]
) -> None:
    """``POST /v1/insights/reach``: an author's stored posts with engagement are the history; nothing is stored."""
    history = [
        envelope(
            "social.tiktok.content",
            {
                "post_id": f"h{i}",
                "brand": "acme",
                "text": f"Colecția {i}",
                "author": "@ana",
                "likes": 50 + 10 * i,
                "posted_at": f"2026-11-{10 + i:02d}T12:00:00+00:00",
            },
            tenant,
        )
        for i in range(4)
    ]
    body = "[" + ",".join(e.model_dump_json() for e in history) + "]"
    write = _headers(serve_stack, tenant, ("events:write",))
    read = _headers(serve_stack, tenant, ("insights:read",))
    draft = {"platform": "tiktok", "author": "@ana", "text": "Reduceri de iarnă!", "publish_at": "2026-12-01T18:00:00Z"}
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=120) as http:
        stored = await http.post("/v1/events", content=body, headers=write | {"content-type": "application/json"})
        assert stored.json()["stored"] == 4, stored.text
        assert (await http.post("/v1/insights/reach", json=draft)).status_code == 401
        scored = await http.post("/v1/insights/reach", json=draft, headers=read)
        assert scored.status_code == 200, scored.text
        reach = scored.json()
        assert reach["history_posts"] == 4 and reach["expected_engagement"] > 0 and reach["lift"] > 0
        stranger = await http.post("/v1/insights/reach", json=draft | {"author": "@nobody"}, headers=read)
        assert stranger.json()["expected_engagement"] is None and stranger.json()["history_posts"] == 0
        naive = await http.post("/v1/insights/reach", json=draft | {"publish_at": "2026-12-01T18:00:00"}, headers=read)
        assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
        unknown = await http.post("/v1/insights/reach", json=draft | {"likes": 3}, headers=read)
        assert unknown.status_code == 422
        other = _headers(serve_stack, {"tid": f"t-{uuid.uuid4().hex[:8]}", "mid": "m-1"}, ("insights:read",))
        assert (await http.post("/v1/insights/reach", json=draft, headers=other)).json()["history_posts"] == 0


async def test_watched_brands_topics_share_of_voice_and_crises_over_http(
    serve_stack: ServeStack, tenant: dict[str, str]
) -> None:
    """The four brand routes through Serve's proxy: scopes, bad input, the caller's tenant only."""
    texts = ["Comanda de la eMAG a ajuns azi, super", "La Altex e mai scump decât la emag.ro", "eMAG livrare rapidă"]
    posts = [
        {"post_id": f"b{i}", "brand": "emag", "text": text, "posted_at": f"2026-12-0{1 + i}T10:00:00+00:00"}
        for i, text in enumerate(texts)
    ]
    events = [envelope("social.twitter.mention", post, tenant) for post in posts]
    body = "[" + ",".join(e.model_dump_json() for e in events) + "]"
    write = _headers(serve_stack, tenant, ("events:write",))
    read = _headers(serve_stack, tenant, ("insights:read",))
    admin = _headers(serve_stack, tenant, ("insights:read", "crm:admin"))
    watch = {"brands": [{"name": "eMAG", "aliases": ["emag.ro"], "own": True}, {"name": "Altex"}], "rematch_days": 365}
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=120) as http:
        stored = await http.post("/v1/events", content=body, headers=write | {"content-type": "application/json"})
        assert stored.json()["stored"] == 3, stored.text
        assert (await http.put("/v1/insights/watched-brands", json=watch)).status_code == 401
        assert (await http.put("/v1/insights/watched-brands", json=watch, headers=read)).status_code == 403
        bad = await http.put("/v1/insights/watched-brands", json={"brands": [{"name": "  "}]}, headers=admin)
        assert bad.status_code == 422
        put = await http.put("/v1/insights/watched-brands", json=watch, headers=admin)
        assert put.status_code == 200 and put.json()["rematched_mentions"] == 3, put.text
        assert [b["name"] for b in (await http.get("/v1/insights/watched-brands", headers=read)).json()] == [
            "eMAG",
            "Altex",
        ]
        share = await http.get("/v1/insights/share-of-voice",
                               params={"days": 10, "until": "2026-12-05T00:00:00+00:00"}, headers=read)  # fmt: skip
        assert share.status_code == 200, share.text
        assert {b["name"]: b["mentions"] for b in share.json()["brands"]} == {"eMAG": 3, "Altex": 1}
        naive = await http.get("/v1/insights/share-of-voice", params={"until": "2026-12-05T00:00:00"}, headers=read)
        assert naive.status_code == 422
        topics = await http.get("/v1/insights/topics", params={"brand": "emag", "min_size": 1,
                                "until": "2026-12-05T00:00:00+00:00"}, headers=read)  # fmt: skip
        assert topics.status_code == 200 and sum(t["size"] for t in topics.json()["topics"]) == 3, topics.text
        assert (await http.get("/v1/insights/topics", headers=read)).status_code == 422  # brand is required
        crises = await http.get("/v1/insights/crises", headers=read)
        assert crises.status_code == 200 and crises.json() == []
        other = _headers(serve_stack, {"tid": f"t-{uuid.uuid4().hex[:8]}", "mid": "m-1"}, ("insights:read",))
        assert (await http.get("/v1/insights/watched-brands", headers=other)).json() == []
        assert (await http.get("/v1/insights/topics", params={"brand": "emag"}, headers=other)).json()["topics"] == []


async def test_prospects_relationships_and_intent_over_http(
    serve_stack: ServeStack, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    """LinkedIn activity in over /v1/events; prospects, relationships, the lead's and Account 360's intent out."""
    account = await create_account(admin_pool, tenant, "Dealu Vinuri SRL")
    lead = await admin_pool.fetchval(
        "INSERT INTO crm.leads (tid, mid, first_name, last_name, email, company_name, converted_account_id) "
        "VALUES ($1, $2, 'Ana', 'Pop', 'ana@dealu.ro', 'Dealu Vinuri', $3) RETURNING id",
        tenant["tid"], tenant["mid"], account,
    )  # fmt: skip
    who = {"email": "ana@dealu.ro", "name": "Ana Pop", "company": "Dealu Vinuri"}
    kinds = [("profile_view", {}), ("event_signup", {"event_name": "Vinexpo"}), ("message_reply", {})]
    events = [
        envelope("social.linkedin.signal", {"kind": k, "prospect": who, "user": "mihai", **extra}, tenant)
        for k, extra in kinds
    ]
    events.append(envelope("social.linkedin.signal", {"kind": "job_change", "prospect": who}, tenant))  # no company
    body = "[" + ",".join(e.model_dump_json() for e in events) + "]"
    write = _headers(serve_stack, tenant, ("events:write",))
    read = _headers(serve_stack, tenant, ("insights:read", "crm:read"))
    admin = _headers(serve_stack, tenant, ("insights:read", "crm:admin"))
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=120) as http:
        stored = await http.post("/v1/events", content=body, headers=write | {"content-type": "application/json"})
        assert (stored.json()["stored"], stored.json()["dead_lettered"]) == (3, 1), stored.text
        answer = await http.get("/v1/insights/prospects", headers=read)
        assert answer.status_code == 200, answer.text
        listed = answer.json()
        (mine,) = listed["prospects"]
        assert (mine["match_status"], mine["lead_id"], mine["account_id"]) == ("matched", str(lead), str(account))
        assert mine["score"] >= listed["threshold"] and listed["model"]["source"] == "prior"
        one = await http.get(f"/v1/insights/prospects/{mine['id']}", headers=read)
        assert one.status_code == 200 and one.json()["top_signals"][0]["kind"] == "message_reply"
        edges = (await http.get("/v1/insights/relationships", params={"account_id": str(account)}, headers=read)).json()
        assert [(e["user"], e["interactions"], e["trend"]) for e in edges] == [("mihai", 3, "new")]
        intent = (await http.get(f"/v1/crm/leads/{lead}/intent", headers=read)).json()
        assert intent["available"] and intent["prospects"][0]["id"] == mine["id"]
        view = (await http.get(f"/v1/crm/accounts/{account}/360", headers=read)).json()
        account_intent = view["prospect_intent"]["data"]
        assert account_intent["prospects"][0]["id"] == mine["id"] and account_intent["prospects_tracked"] == 1
        assert account_intent["score"] == pytest.approx(mine["score"], abs=0.5)  # one person: their score
        assert (await http.post("/v1/insights/prospects/rematch", headers=read)).status_code == 403
        rematch = await http.post("/v1/insights/prospects/rematch", headers=admin)
        assert rematch.status_code == 200 and rematch.json()["checked"] == 0, rematch.text
        bad = await http.post(f"/v1/insights/prospects/{mine['id']}/match", json={}, headers=admin)
        assert bad.status_code == 422
        other = _headers(serve_stack, {"tid": f"t-{uuid.uuid4().hex[:8]}", "mid": "m-1"}, ("insights:read",))
        assert (await http.get(f"/v1/insights/prospects/{mine['id']}", headers=other)).status_code == 404
        assert (await http.get("/v1/insights/prospects", headers=other)).json()["prospects"] == []
