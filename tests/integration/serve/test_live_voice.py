"""Live calls through Serve's proxies: the WebSocket route and the bidirectional gRPC method."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from models.voice.evaluate import conversation
from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsStub
from serve.application import APP_NAME
from tests.integration.serve.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
METADATA = (("application", APP_NAME),)
CHUNK_BYTES = 8000  # 0.25 s of 16 kHz 16-bit PCM


@pytest.fixture(scope="module")
def call_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    rep, customer, _, _ = conversation(3, tmp_path_factory.mktemp("live"))
    return (np.clip(rep + customer, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def stub(serve_stack: ServeStack) -> Iterator[AnalyticsStub]:
    with grpc.insecure_channel(serve_stack.grpc) as channel:
        yield AnalyticsStub(channel)


def test_a_live_call_over_websocket(serve_stack: ServeStack, call_pcm: bytes) -> None:
    from websockets.sync.client import connect

    url = serve_stack.http.replace("http://", "ws://") + "/v1/voice/live?profile=fast"
    with connect(url, max_size=1 << 24, open_timeout=30) as socket:

        def send() -> None:
            for start in range(0, len(call_pcm), CHUNK_BYTES):  # 2.5 times real time: steps overlap the call
                socket.send(call_pcm[start : start + CHUNK_BYTES])
                time.sleep(0.1)
            socket.send(json.dumps({"type": "end"}))

        sender = threading.Thread(target=send)
        sender.start()
        updates = [json.loads(message) for message in socket]  # until the server closes
        sender.join()
    kinds = [u["type"] for u in updates]
    assert kinds[-1] == "analysis" and "partial" in kinds and kinds.count("final") >= 2, kinds
    finals = [u for u in updates if u["type"] == "final"]
    assert all(f["sentiment"]["label"] in ("negative", "neutral", "positive") for f in finals)
    assert all(a["end"] <= b["start"] + 0.5 for a, b in itertools.pairwise(finals))
    analysis = updates[-1]["analysis"]
    assert analysis["profile"] == "fast" and [s["speaker"] for s in analysis["speakers"]] == ["S1", "S2"]
    assert "summary" in kinds  # at least three finalised segments: the running summary was sent


def test_bad_live_options_get_an_error_frame_and_a_policy_close(serve_stack: ServeStack) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    base = serve_stack.http.replace("http://", "ws://") + "/v1/voice/live"
    for query, words in (("encoding=mp3", "encoding"), ("profile=fast&language=ro", "English only")):
        with connect(f"{base}?{query}", open_timeout=30) as socket:
            error = json.loads(socket.recv(timeout=30))
            assert error["type"] == "error" and error["status"] == 422 and words in error["detail"]
            with pytest.raises(ConnectionClosed):
                socket.recv(timeout=30)
            assert socket.close_code == 1008


def test_a_live_call_over_grpc(stub: AnalyticsStub, call_pcm: bytes) -> None:
    chunks = [call_pcm[i : i + CHUNK_BYTES] for i in range(0, len(call_pcm), CHUNK_BYTES)]
    audio = [pb.LiveAudio(data=chunks[0], profile="fast"), *(pb.LiveAudio(data=c) for c in chunks[1:])]
    updates = list(stub.TranscribeLive(iter(audio), metadata=METADATA, timeout=180))
    kinds = [u.type for u in updates]
    assert kinds[-1] == "analysis" and kinds.count("final") >= 2
    assert updates[-1].analysis.profile == "fast" and updates[-1].analysis.transcript
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.TranscribeLive(iter([pb.LiveAudio(data=b"\0\0", encoding="mp3")]), metadata=METADATA, timeout=60))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
