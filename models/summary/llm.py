"""Optional abstractive summary through any OpenAI-compatible chat endpoint (off by default).

Configured by URL (``VETTIFY_SUMMARY_LLM_URL``, e.g. a local vLLM or llama.cpp
server at ``http://127.0.0.1:8080/v1``) and model name. The extractive summary
is always computed first and returned when the endpoint fails, so a summary
request never fails because an LLM is down; the response says which one it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from models.errors import ModelError

PROMPT = (
    "Summarise this sales conversation or email thread in at most {n} sentences. "
    "Keep names, amounts, dates and agreed next steps. Do not invent facts.\n\n{document}"
)


class LLMUnavailable(ModelError):
    pass


@dataclass(frozen=True)
class LLMSummarizer:
    base_url: str
    model: str = "default"
    api_key: str | None = None
    timeout_s: float = 20.0

    def summarize(self, document: str, max_sentences: int) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model,
            "temperature": 0.0,
            "messages": [{"role": "user", "content": PROMPT.format(n=max_sentences, document=document)}],
        }
        try:
            response = httpx.post(
                f"{self.base_url.rstrip('/')}/chat/completions", json=body, headers=headers, timeout=self.timeout_s
            )
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMUnavailable(f"the summary LLM at {self.base_url} failed: {exc}") from exc
        if not isinstance(text, str) or not text.strip():
            raise LLMUnavailable(f"the summary LLM at {self.base_url} returned no text")
        return text.strip()


def summarize_or_fall_back(
    llm: LLMSummarizer, document: str, max_sentences: int, extractive_text: str, extractive_method: str
) -> tuple[str, str]:
    """The LLM's summary and ``llm:<model>``; if the LLM fails, the extractive one and a method naming why."""
    try:
        return llm.summarize(document, max_sentences), f"llm:{llm.model}"
    except LLMUnavailable as exc:
        return extractive_text, f"{extractive_method} (LLM unavailable: {exc})"
