"""The run's report: JSON (for pipelines), Markdown (for a pull request or a ticket) and one self-contained HTML
file (verdicts, latency over time and percentile plots per objective as inline SVG; no script, no network).

A previous run's JSON, when given, is compared check by check: a check that passed and now fails is a
regression; so is one whose value moved more than ``REGRESSION`` the wrong way *and* whose 95 % interval no
longer overlaps the previous one (figures on a busy machine move by a fifth between runs; only a move the
intervals cannot explain is called out).
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from serve.slo.runner import RunResult, format_value

REGRESSION = 0.2  # a value 20 % worse than the previous run's is a regression even if the target still holds


def compare(current: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per check present in both runs: the two values, the change, and whether it regressed."""
    if previous is None:
        return []
    before = {(o["name"], c["name"]): c for o in previous.get("objectives", []) for c in o.get("checks", [])}
    rows = []
    for objective in current["objectives"]:
        for check in objective["checks"]:
            old = before.get((objective["name"], check["name"]))
            if old is None:
                continue
            if check["value"] is None or old["value"] is None:
                continue
            value, was = float(check["value"]), float(old["value"])
            if math.isfinite(value) and math.isfinite(was) and was != 0:
                change = (value - was) / abs(was)
            else:
                change = 0.0 if value == was else math.inf
            worse = -change if check.get("higher_is_better") else change
            regressed = (old["passed"] and not check["passed"]) or (worse > REGRESSION and _apart(check, old))
            rows.append({
                "objective": objective["name"], "check": check["name"], "unit": check["unit"],
                "previous": was, "current": value, "change": change, "regressed": bool(regressed),
            })  # fmt: skip
    return rows


def _apart(now: dict[str, Any], before: dict[str, Any]) -> bool:
    """The two runs' 95 % intervals do not overlap (an unbounded end counts as overlapping)."""
    lows, highs = (now["low"], before["low"]), (now["high"], before["high"])
    if None in lows or None in highs:
        return False
    return bool(now["low"] > before["high"] or now["high"] < before["low"])


def load_previous(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def latest_report(directory: Path) -> Path | None:
    """The newest earlier run's JSON in ``directory`` (what a new run is compared with by default)."""
    runs = sorted(directory.glob("slo-*.json"), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def write(result: RunResult, directory: Path, previous: dict[str, Any] | None) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    document = result.as_dict()
    document["comparison"] = compare(document, previous)
    document["compared_with"] = previous.get("run_id") if previous else None
    stem = directory / f"slo-{result.started_at.replace(':', '').replace('+0000', 'Z')}-{result.run_id}"
    paths = {"json": stem.with_suffix(".json"), "md": stem.with_suffix(".md"), "html": stem.with_suffix(".html")}
    paths["json"].write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    paths["md"].write_text(markdown(document))
    paths["html"].write_text(html_report(document))
    return paths


def _check_rows(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    rows: list[tuple[str, str, dict[str, Any] | None]] = []
    for objective in document["objectives"]:
        if not objective["checks"]:
            rows.append((objective["name"], objective["status"], None))
        rows.extend((objective["name"], objective["status"], check) for check in objective["checks"])
    return rows


def _interval(check: dict[str, Any]) -> str:
    low, high = format_value(check["low"], check["unit"]), format_value(check["high"], check["unit"])
    return f"{low} to {high} (n={check['samples']})"


def markdown(document: dict[str, Any]) -> str:
    verdict = "PASS" if document["passed"] else f"FAIL ({', '.join(document['failed'])})"
    lines = [
        f"# SLO run {document['run_id']}: {verdict}",
        "",
        f"Target {document['target']['http']} · started {document['started_at']} · spec `{document['spec']}`",
        "",
        "| objective | check | measured | target | margin | 95 % interval | certainty | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, status, check in _check_rows(document):
        if check is None:
            lines.append(f"| {name} | — | — | — | — | — | — | {status} |")
            continue
        sign = "≥" if check["higher_is_better"] else "≤"
        lines.append(
            f"| {name} | {check['name']} | {format_value(check['value'], check['unit'])} "
            f"| {sign} {format_value(check['target'], check['unit'])} | {100 * check['margin']:+.0f} % "
            f"| {_interval(check)} | {check['certainty']} | {'pass' if check['passed'] else '**fail**'} |"
        )
    notes = [(o["name"], n) for o in document["objectives"] for n in o["notes"]]
    if notes:
        lines += ["", "Notes:", *(f"- {name}: {note}" for name, note in notes)]
    if document.get("comparison"):
        lines += [
            "",
            f"Compared with run {document['compared_with']}:",
            "",
            "| objective | check | before | now | change |",
        ]
        lines.append("| --- | --- | --- | --- | --- |")
        for row in document["comparison"]:
            flag = " **regression**" if row["regressed"] else ""
            lines.append(
                f"| {row['objective']} | {row['check']} | {format_value(row['previous'], row['unit'])} "
                f"| {format_value(row['current'], row['unit'])} | {100 * row['change']:+.0f} %{flag} |"
            )
    return "\n".join(lines) + "\n"


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", dpi=110)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def plots(objective: dict[str, Any]) -> str:
    """Latency over time (errors marked, fault events as lines) and the latency percentile curve, as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text, not glyph outlines: a page a third the size
    import matplotlib.pyplot as plt
    import numpy as np

    series = objective["series"]
    if not series or not series.get("at_s"):
        return ""
    at, latency, outcome = np.array(series["at_s"]), np.array(series["latency_ms"]), np.array(series["outcome"])
    ok = outcome == "ok"
    warmup = float(objective.get("warmup_s", 0.0))
    measured = ok & (at >= warmup)
    # request-level targets only: a per-frame figure is not on the same axis as a request's latency
    targets = [c for c in objective["checks"] if c["unit"] == "ms" and ("latency" in c["name"] or "lag" in c["name"])]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    if warmup:
        left.axvspan(0, warmup, color="#e5e7eb", label="warm-up (not measured)")
    left.scatter(at[ok], latency[ok], s=4, color="#2563eb", label="answered", rasterized=True)
    if (~ok).any():
        top = float(latency[ok].max()) if ok.any() else 1.0
        left.scatter(at[~ok], np.full((~ok).sum(), top), s=10, marker="x", color="#dc2626", label="refused/failed")
    for when, what in objective["events"]:
        left.axvline(when, color="#9333ea", linestyle=":", linewidth=1)
        left.annotate(what[:40], (when, 0.95), xycoords=("data", "axes fraction"), fontsize=7, color="#9333ea")
    for check in targets:
        left.axhline(check["target"], color="#6b7280", linestyle="--", linewidth=0.8)
    left.set(xlabel="seconds into the run", ylabel="latency (ms)", title="latency over time")
    left.legend(fontsize=7, loc="upper left")
    if measured.any():
        ordered = np.sort(latency[measured])
        quantiles = 100 * (np.arange(1, len(ordered) + 1) / len(ordered))
        right.plot(quantiles, ordered, color="#2563eb")
        for check in targets:
            found = re.search(r"\bp(\d+)\b", check["name"])
            if found is None:
                continue
            q = float(found.group(1))
            right.scatter([q], [check["target"]], marker="_", s=300, color="#6b7280")
            if check["value"] is not None:
                right.scatter([q], [check["value"]], s=18, color="#16a34a" if check["passed"] else "#dc2626")
        right.set_yscale("log")
    right.set(xlabel="percentile", ylabel="latency (ms)", title="percentiles (— target, ● measured)")
    figure.tight_layout()
    svg = _svg(figure)
    plt.close(figure)
    return svg


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#111827;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}td,th{border:1px solid #d1d5db;padding:.3rem .6rem}
th{background:#f3f4f6;text-align:left}td{white-space:nowrap}.pass{color:#15803d;font-weight:600}.fail,.error{color:#b91c1c;font-weight:600}
.skipped{color:#6b7280}.banner{padding:.6rem 1rem;border-radius:.4rem;font-size:1.2rem}
.banner.pass{background:#dcfce7}.banner.fail{background:#fee2e2}.regressed{background:#fef3c7}
section{margin-top:2rem}small{color:#6b7280}
"""


def html_report(document: dict[str, Any]) -> str:
    e = html.escape
    verdict = "pass" if document["passed"] else "fail"
    headline = "All objectives met" if document["passed"] else f"Missed: {', '.join(document['failed'])}"
    rows = []
    for name, status, check in _check_rows(document):
        if check is None:
            rows.append(f"<tr><td>{e(name)}</td><td colspan=6>—</td><td class={status}>{e(status)}</td></tr>")
            continue
        sign = "≥" if check["higher_is_better"] else "≤"
        mark = "pass" if check["passed"] else "fail"
        rows.append(
            f"<tr><td>{e(name)}</td><td>{e(check['name'])}</td>"
            f"<td>{e(format_value(check['value'], check['unit']))}</td>"
            f"<td>{sign} {e(format_value(check['target'], check['unit']))}</td><td>{100 * check['margin']:+.0f} %</td>"
            f"<td>{e(_interval(check))}</td><td>{e(check['certainty'])}</td><td class={mark}>{mark}</td></tr>"
        )
    comparison = ""
    if document.get("comparison"):
        lines = [
            f"<tr class={'regressed' if r['regressed'] else ''}><td>{e(r['objective'])}</td><td>{e(r['check'])}</td>"
            f"<td>{e(format_value(r['previous'], r['unit']))}</td><td>{e(format_value(r['current'], r['unit']))}</td>"
            f"<td>{100 * r['change']:+.0f} %{' — regression' if r['regressed'] else ''}</td></tr>"
            for r in document["comparison"]
        ]
        comparison = (
            f"<section><h2>Compared with run {e(str(document['compared_with']))}</h2><table>"
            "<tr><th>objective</th><th>check</th><th>before</th><th>now</th><th>change</th></tr>"
            + "".join(lines)
            + "</table></section>"
        )
    sections = []
    for objective in document["objectives"]:
        notes = "".join(f"<li>{e(n)}</li>" for n in objective["notes"])
        figures = e(json.dumps(objective["figures"]))
        sections.append(
            f"<section id='{e(objective['name'])}'><h2>{e(objective['name'])} <small>{e(objective['kind'])}"
            f" · {objective['seconds']} s</small> "
            f"<span class={objective['status']}>{e(objective['status'])}</span></h2>"
            f"<p>{e(objective['description'])}</p>{'<ul>' + notes + '</ul>' if notes else ''}"
            f"<p><small>{figures}</small></p>{plots(objective)}</section>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>SLO run {e(document['run_id'])}: {verdict}</title><style>{STYLE}</style></head><body>"
        f"<h1>SLO run {e(document['run_id'])}</h1><p class='banner {verdict}'>{e(headline)}</p>"
        f"<p>Target {e(document['target']['http'])} · started {e(document['started_at'])} · finished "
        f"{e(document['finished_at'])} · spec <code>{e(document['spec'])}</code></p>"
        "<table><tr><th>objective</th><th>check</th><th>measured</th><th>target</th><th>margin</th>"
        f"<th>95 % interval</th><th>certainty</th><th>verdict</th></tr>{''.join(rows)}</table>"
        f"{comparison}{''.join(sections)}</body></html>\n"
    )
