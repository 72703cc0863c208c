"""Evaluate topics, emerging-topic and crisis detection, each beside its baseline from the same run.

``python -m models.topics.evaluate`` writes ``benchmarks/results/topics_eval.json`` and ``.png``.

1. **Topic clustering on real mentions.** Tweets with a known subject (:mod:`models.topics.data`: airlines,
   Coachella, Apple, self-driving cars, deflategate) in their corpus proportions, encoded with the engine's
   packaged MiniLM encoder, go once through :class:`~models.topics.online.TopicSet` in a random order. Its
   topics are scored by NMI and ARI against the subjects, beside batch k-means *told the number of subjects*
   (an oracle the stream never has) and k-means with k picked by silhouette (2..12). The thresholds were
   chosen on a development sample; the evaluation sample is disjoint from it (split by a hash of the text).
   A topic's label is judged readable when, for a topic holding at least 2 % of the mentions, one of its
   five label words is a word of its majority subject.
2. **Emerging topics** (simulated counts: no public stream has marked emerging topics). 40 steady topics with
   hourly rates from 0.05 to 10 (log-uniform) and 8 topics that grow 6-fold at a random hour of the second
   week; at each day's end of that week the rule (:func:`models.topics.trends.trend`, last 24 h against the
   7 days before) flags topics, beside the trending list a volume ranking gives (the top 8 by the last 24 h)
   and a bare ratio test (the last day at least 3 times the week's daily mean, no count or probability).
   Precision: flags that are emerging topics after their onset; recall: emerging topics flagged within 48 h.
3. **Crisis alerts** (simulated mentions: sentiment and reach per mention, arrival times per mention). Brands
   with 2-60 mentions an hour and a usual negative share of 5-60 % (the high ones are "chronic
   complainers") get one episode of six hours in week two: a **crisis** (5x volume, 70 % negative, the
   negatives reaching 4x further), a **launch** (5x volume, 10 % negative), a **low-reach swarm** (5x volume,
   90 % negative, from accounts reaching a fifth of usual) or **none**. Both rules are evaluated at every
   mention, as the social processor does: :func:`models.topics.crisis.assess` and the older spike rule (20
   mentions in the hour, half negative). An alert starts when a rule turns on after being off for more than
   an hour (:func:`models.topics.crisis.starts`, applied to both); a crisis is caught if an alert starts
   within it; every other alert is false.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.topics.crisis import CrisisRule, WindowFigures, assess, starts
from models.topics.data import Mention, load_subject_mentions
from models.topics.keywords import labels
from models.topics.online import TopicSet
from models.topics.trends import TrendRule, trend

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "topics_eval.json"
DEV_SHARE = 0.3  # texts hashed below this are the development sample the thresholds were chosen on
SUBJECT_WORDS: dict[str, set[str]] = {
    "airlines": {"flight", "flights", "airline", "plane", "cancelled", "delayed", "bag", "bags", "seat",
                 "service", "customer", "gate", "crew", "baggage", "fly", "flying"},
    "coachella": {"coachella", "coachella2015", "lineup", "festival", "tickets", "weekend", "drake"},
    "apple": {"apple", "aapl", "iphone", "ipad", "mac", "watch", "app", "ios", "applewatch"},
    "self_driving": {"car", "cars", "self-driving", "driverless", "autonomous", "driving", "vehicle"},
    "deflategate": {"deflategate", "patriots", "brady", "balls", "nfl", "football", "belichick", "superbowl"},
}  # fmt: skip
SPIKE_MENTIONS, SPIKE_SHARE = 20, 0.5  # streams.processors.social.SpikeRule's defaults


def is_dev(text: str) -> bool:
    return int(hashlib.sha256(text.lower().encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < DEV_SHARE


# --- 1. topics on real mentions ---------------------------------------------------------------------------


def encode(texts: list[str], threads: int) -> NDArray[np.float32]:
    from models.embeddings.encoder import SentenceEncoder

    encoder = SentenceEncoder(threads=threads)
    out = []
    for start in range(0, len(texts), 500):
        out.append(encoder.encode(texts[start : start + 500]).vectors.astype(np.float32))
        print(f"[topics] encoded {min(start + 500, len(texts)):,}/{len(texts):,}", file=sys.stderr, flush=True)
    return np.concatenate(out)


def topic_quality(mentions: list[Mention], vectors: NDArray[np.float32], seed: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    subjects = [m.subject for m in mentions]
    started = time.perf_counter()
    topics = TopicSet()
    placed = [topics.add(v, m.text).topic for v, m in zip(vectors, mentions, strict=True)]
    per_mention_ms = (time.perf_counter() - started) * 1000 / len(mentions)
    online = [topics.resolve(p) for p in placed]
    oracle = KMeans(len(set(subjects)), n_init=10, random_state=seed).fit_predict(vectors)
    best_k, best_silhouette, picked = 0, -1.0, oracle
    for k in range(2, 13):
        guess = KMeans(k, n_init=4, random_state=seed).fit_predict(vectors)
        silhouette = float(silhouette_score(vectors, guess, metric="cosine", sample_size=2000, random_state=seed))
        if silhouette > best_silhouette:
            best_k, best_silhouette, picked = k, silhouette, guess
    named = labels({str(k): t.terms for k, t in topics.topics.items()})
    big = [t for t in topics.topics.values() if t.size >= 0.02 * len(mentions)]
    readable: list[dict[str, Any]] = []
    for topic in big:
        majority = Counter(s for s, o in zip(subjects, online, strict=True) if o == topic.id).most_common(1)[0][0]
        label = named[str(topic.id)]
        readable.append({"size": topic.size, "subject": majority, "label": label,
                         "names_subject": bool(set(label) & SUBJECT_WORDS[majority])})  # fmt: skip

    def score(assigned: Any) -> dict[str, float]:
        return {"nmi": round(float(normalized_mutual_info_score(subjects, assigned)), 4),
                "ari": round(float(adjusted_rand_score(subjects, assigned)), 4)}  # fmt: skip

    return {
        "mentions": len(mentions),
        "subjects": dict(Counter(subjects)),
        "online": score(online)
        | {
            "topics": len(topics.topics),
            "topics_with_2pct": len(big),
            "share_in_2pct_topics": round(sum(t.size for t in big) / len(mentions), 4),
            "ms_per_mention_in_memory": round(per_mention_ms, 3),
        },
        "kmeans_told_k": score(oracle) | {"k": len(set(subjects))},
        "kmeans_silhouette_k": score(picked) | {"k": best_k},
        "labels": sorted(readable, key=lambda r: -int(r["size"])),
        "labels_naming_subject": round(sum(bool(r["names_subject"]) for r in readable) / max(len(readable), 1), 4),
    }


# --- 2. emerging topics -------------------------------------------------------------------------------------


def emerging_run(rng: np.random.Generator, rule: TrendRule) -> dict[str, int]:
    hours = 24 * 14
    steady = np.exp(rng.uniform(math.log(0.05), math.log(10.0), 40))
    rising_base = np.exp(rng.uniform(math.log(0.05), math.log(0.5), 8))
    onsets = rng.integers(24 * 7, 24 * 13, 8)
    rates = np.concatenate([np.repeat(steady[:, None], hours, 1), np.repeat(rising_base[:, None], hours, 1)])
    for i, onset in enumerate(onsets):
        rates[40 + i, onset:] *= 6.0
    counts = rng.poisson(rates)
    out = Counter[str]()
    caught_rule: set[int] = set()
    caught_volume: set[int] = set()
    caught_ratio: set[int] = set()
    for day_end in range(24 * 8, hours + 1, 24):
        recent = counts[:, day_end - 24 : day_end].sum(1)
        baseline = counts[:, day_end - 24 - 24 * 7 : day_end - 24].sum(1)
        flagged = {i for i in range(len(counts)) if trend(int(recent[i]), 24, int(baseline[i]), 24 * 7, rule).emerging}
        volume = set(np.argsort(-recent, kind="stable")[:8].tolist())
        ratio = {i for i in range(len(counts)) if recent[i] > 0 and recent[i] >= 3 * baseline[i] / 7}
        chosen_by = (("rule", flagged, caught_rule), ("volume", volume, caught_volume), ("ratio", ratio, caught_ratio))
        for name, chosen, caught in chosen_by:
            for i in chosen:
                emerged = i >= 40 and onsets[i - 40] < day_end
                out[f"{name}_flags"] += 1
                out[f"{name}_true_flags"] += int(emerged)
                if emerged and day_end - onsets[i - 40] <= 48:
                    caught.add(i)
    out["emerging_topics"] = int(sum(1 for o in onsets if o < hours - 48))
    out["rule_caught"] = len({i for i in caught_rule if onsets[i - 40] < hours - 48})
    out["volume_caught"] = len({i for i in caught_volume if onsets[i - 40] < hours - 48})
    out["ratio_caught"] = len({i for i in caught_ratio if onsets[i - 40] < hours - 48})
    return dict(out)


def emerging_quality(runs: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    total = Counter[str]()
    for _ in range(runs):
        total.update(emerging_run(rng, TrendRule()))

    def rates(name: str) -> dict[str, float]:
        return {"precision": round(total[f"{name}_true_flags"] / max(total[f"{name}_flags"], 1), 4),
                "recall_within_48h": round(total[f"{name}_caught"] / max(total["emerging_topics"], 1), 4),
                "flags_per_day": round(total[f"{name}_flags"] / (runs * 7), 3)}  # fmt: skip

    return {"runs": runs, "rule": rates("rule"), "volume_top8": rates("volume"), "ratio_3x_only": rates("ratio"),
            "counts": dict(total)}  # fmt: skip


# --- 3. crisis alerts ---------------------------------------------------------------------------------------

EPISODES: dict[str, tuple[float, float, float]] = {  # volume x, negative share, negative reach x
    "crisis": (5.0, 0.7, 4.0),
    "launch": (5.0, 0.1, 1.0),
    "low_reach_swarm": (5.0, 0.9, 0.2),
    "none": (1.0, 0.0, 1.0),
}


@dataclass
class BrandRun:
    episode: str
    chronic: bool
    crisis_alerts: list[float]  # hours at which an alert started
    spike_alerts: list[float]
    start: float
    end: float


def simulate_brand(rng: np.random.Generator, episode: str) -> BrandRun:
    hours = 24 * 14
    rate = float(np.exp(rng.uniform(math.log(2), math.log(60))))
    negative = float(rng.uniform(0.05, 0.6))
    start = float(rng.uniform(24 * 8, 24 * 13))
    end = start + 6
    volume_x, episode_negative, reach_x = EPISODES[episode]
    base_times = np.sort(rng.uniform(0, hours, rng.poisson(rate * hours)))
    extra = rng.poisson(rate * 6 * (volume_x - 1)) if episode != "none" else 0
    burst_times = np.sort(rng.uniform(start, end, extra))
    times = np.concatenate([base_times, burst_times])
    in_burst = np.concatenate([np.zeros(len(base_times), bool), np.ones(len(burst_times), bool)])
    order = np.argsort(times, kind="stable")
    times, in_burst = times[order], in_burst[order]
    p_negative = np.where(in_burst, episode_negative, negative)
    is_negative = rng.random(len(times)) < p_negative
    reach = rng.lognormal(math.log(50), 1.0, len(times)) * np.where(in_burst & is_negative, reach_x, 1.0)
    crisis_on = spike_on = False
    crisis_changed = spike_changed = -1e9
    crisis_alerts: list[float] = []
    spike_alerts: list[float] = []
    neg_cum = np.concatenate([[0], np.cumsum(is_negative)])
    reach_cum = np.concatenate([[0], np.cumsum(np.where(is_negative, reach, 0.0))])
    log_cum = np.concatenate([[0], np.cumsum(np.where(is_negative, np.log1p(reach), 0.0))])
    rule = CrisisRule()
    window_h = rule.window / timedelta(hours=1)
    baseline_h = rule.baseline / timedelta(hours=1)
    lo = np.searchsorted(times, times - window_h, side="right")
    base_lo = np.searchsorted(times, times - window_h - baseline_h, side="right")
    for i in range(len(times)):
        if times[i] < 24 * 7:  # week one builds the baseline; the rules run from week two
            continue
        hi = i + 1
        mentions, negatives = hi - lo[i], int(neg_cum[hi] - neg_cum[lo[i]])
        figures = WindowFigures(
            mentions=int(mentions),
            negative=negatives,
            supported=int(mentions),
            negative_reach=float(reach_cum[hi] - reach_cum[lo[i]]),
            negative_log_reach=float(log_cum[hi] - log_cum[lo[i]]),
            baseline_mentions=int(lo[i] - base_lo[i]),
            baseline_negative=int(neg_cum[lo[i]] - neg_cum[base_lo[i]]),
            baseline_negative_reach=float(reach_cum[lo[i]] - reach_cum[base_lo[i]]),
            baseline_negative_log_reach=float(log_cum[lo[i]] - log_cum[base_lo[i]]),
            history=timedelta(hours=float(times[i] - window_h)),
        )
        now = float(times[i])
        crisis = assess(figures, rule).on
        spike = mentions >= SPIKE_MENTIONS and negatives / mentions >= SPIKE_SHARE
        if starts(crisis, crisis_on, timedelta(hours=now - crisis_changed), rule):
            crisis_alerts.append(now)
        if starts(spike, spike_on, timedelta(hours=now - spike_changed), rule):  # the same cooldown for both
            spike_alerts.append(now)
        if crisis != crisis_on:
            crisis_on, crisis_changed = crisis, now
        if spike != spike_on:
            spike_on, spike_changed = spike, now
    return BrandRun(episode, negative >= 0.4, crisis_alerts, spike_alerts, start, end)


def crisis_quality(brands_per_episode: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    runs = []
    for episode in EPISODES:
        runs += [simulate_brand(rng, episode) for _ in range(brands_per_episode)]
        print(f"[topics] crisis runs: {brands_per_episode} brands with episode {episode!r} done", file=sys.stderr,
              flush=True)  # fmt: skip
    out: dict[str, Any] = {"brands_per_episode": brands_per_episode, "brand_weeks": len(runs)}
    for name in ("crisis_rule", "spike_rule"):
        caught, delays, false_by = 0, [], Counter[str]()
        for run in runs:
            alerts = run.crisis_alerts if name == "crisis_rule" else run.spike_alerts
            inside = [a for a in alerts if run.start <= a <= run.end] if run.episode == "crisis" else []
            if inside:
                caught += 1
                delays.append((min(inside) - run.start) * 60)
            false = len(alerts) - len(inside)
            false_by[run.episode] += false
            if run.chronic:
                false_by["chronic_brands"] += false
        out[name] = {
            "crisis_recall": round(caught / brands_per_episode, 4),
            "median_delay_min": round(float(np.median(delays)), 1) if delays else None,
            "false_alerts": sum(v for k, v in false_by.items() if k != "chronic_brands"),
            "false_alerts_per_brand_week": round(
                sum(v for k, v in false_by.items() if k != "chronic_brands") / len(runs), 4
            ),
            "false_alerts_by_episode": {k: false_by[k] for k in EPISODES},
            "false_alerts_at_chronic_brands": false_by["chronic_brands"],
        }
    example = next(r for r in runs if r.episode == "crisis" and r.crisis_alerts)
    out["example"] = {"start_h": example.start, "crisis_alerts_h": example.crisis_alerts[:5],
                      "spike_alerts_h": example.spike_alerts[:5]}  # fmt: skip
    return out


# --- report ---------------------------------------------------------------------------------------------------


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    topics = report["topics"]
    names = ["online (one pass)", "k-means, silhouette k", "k-means told k"]
    values = [topics["online"]["nmi"], topics["kmeans_silhouette_k"]["nmi"], topics["kmeans_told_k"]["nmi"]]
    axes[0].bar(names, values, color=["#2b6cb0", "#a0aec0", "#718096"])
    axes[0].set_ylim(0, 1)
    axes[0].set_title(f"Topics vs subjects: NMI ({topics['mentions']:,} real tweets)")
    axes[0].tick_params(axis="x", labelsize=8)
    emerging = report["emerging"]
    x = np.arange(2)
    series = (("rule", "own-baseline rule"), ("volume_top8", "top 8 by volume"), ("ratio_3x_only", "bare 3x ratio"))
    for offset, (key, label) in enumerate(series):
        values = [emerging[key]["precision"], emerging[key]["recall_within_48h"]]
        axes[1].bar(x + offset * 0.27, values, 0.27, label=label)
    axes[1].set_xticks(x + 0.27, ["precision", "recall ≤ 48 h"])
    axes[1].set_ylim(0, 1)
    axes[1].legend(fontsize=8, loc="lower center")
    axes[1].set_title("Emerging topics (simulated counts)")
    crisis = report["crisis"]
    episodes = list(EPISODES)
    for offset, key in enumerate(("crisis_rule", "spike_rule")):
        false = [crisis[key]["false_alerts_by_episode"][e] for e in episodes]
        bars = axes[2].bar(np.arange(len(episodes)) + offset * 0.38, false, 0.38, label=key.replace("_", " "))
        axes[2].bar_label(bars, fontsize=7)
    axes[2].set_yscale("symlog")
    axes[2].set_ylabel("false alerts (symlog)")
    axes[2].set_xticks(np.arange(len(episodes)) + 0.19, [e.replace("_", " ") for e in episodes], fontsize=8)
    axes[2].set_title(f"False alerts by episode (recall: crisis rule {crisis['crisis_rule']['crisis_recall']:.0%}, "
                      f"spike {crisis['spike_rule']['crisis_recall']:.0%})", fontsize=9)  # fmt: skip
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m models.topics.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=3000, help="real mentions clustered (default 3000)")
    parser.add_argument("--emerging-runs", type=int, default=50)
    parser.add_argument("--brands", type=int, default=100, help="simulated brands per episode kind")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    pool = [m for m in load_subject_mentions() if not is_dev(m.text)]
    chosen = [pool[i] for i in rng.choice(len(pool), size=min(args.mentions, len(pool)), replace=False)]
    print(f"[topics] {len(chosen):,} evaluation mentions of {len(pool):,} (development sample left out)",
          file=sys.stderr, flush=True)  # fmt: skip
    topics = topic_quality(chosen, encode([m.text for m in chosen], args.threads), args.seed)
    print("[topics] emerging-topic runs", file=sys.stderr, flush=True)
    emerging = emerging_quality(args.emerging_runs, args.seed)
    print("[topics] crisis runs", file=sys.stderr, flush=True)
    crisis = crisis_quality(args.brands, args.seed)
    online, oracle = topics["online"], topics["kmeans_told_k"]
    rule, volume = emerging["rule"], emerging["volume_top8"]
    c, s = crisis["crisis_rule"], crisis["spike_rule"]
    report: dict[str, Any] = {
        "evaluation": "topics, emerging topics and crisis alerts",
        "topics": topics,
        "emerging": emerging,
        "crisis": crisis,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "seconds": round(time.monotonic() - started, 1),
        "goals": {
            "online_nmi_within_0_1_of_kmeans_told_k": online["nmi"] >= oracle["nmi"] - 0.1,
            "online_nmi_ge_kmeans_silhouette_k": online["nmi"] >= topics["kmeans_silhouette_k"]["nmi"],
            "labels_name_their_subject_ge_0_8": topics["labels_naming_subject"] >= 0.8,
            "emerging_precision_gt_volume_ranking": rule["precision"] > volume["precision"],
            "emerging_precision_gt_bare_ratio": rule["precision"] > emerging["ratio_3x_only"]["precision"],
            "emerging_recall_within_48h_ge_0_8": rule["recall_within_48h"] >= 0.8,
            "crisis_recall_ge_0_9": c["crisis_recall"] >= 0.9,
            "crisis_false_alerts_per_brand_week_le_0_05": c["false_alerts_per_brand_week"] <= 0.05,
            "crisis_false_alerts_lt_spike_rule": c["false_alerts"] < s["false_alerts"],
        },
    }
    print(f"\ntopics on {topics['mentions']:,} real mentions   NMI     ARI   topics")
    for name in ("online", "kmeans_silhouette_k", "kmeans_told_k"):
        row = topics[name]
        print(f"  {name:<34}{row['nmi']:>6.3f}{row['ari']:>8.3f}{row.get('topics', row.get('k')):>8}")
    print(f"  labels naming their subject: {topics['labels_naming_subject']:.0%}")
    for row in topics["labels"]:
        print(f"    {row['size']:>5}  {row['subject']:<13} {' · '.join(row['label'])}")
    print("\nemerging topics            precision  recall≤48h  flags/day")
    for name in ("rule", "volume_top8", "ratio_3x_only"):
        row = emerging[name]
        print(f"  {name:<24}{row['precision']:>10.3f}{row['recall_within_48h']:>12.3f}{row['flags_per_day']:>11.2f}")
    print("\ncrisis alerts       recall  delay(min)  false/brand-week  false by episode")
    for name in ("crisis_rule", "spike_rule"):
        row = crisis[name]
        print(f"  {name:<16}{row['crisis_recall']:>8.3f}{row['median_delay_min'] or float('nan'):>12.1f}"
              f"{row['false_alerts_per_brand_week']:>18.3f}  {row['false_alerts_by_episode']}")  # fmt: skip
    print(f"goals: {report['goals']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    plot(report, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png').name}")


if __name__ == "__main__":
    main()
