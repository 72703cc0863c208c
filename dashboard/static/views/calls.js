// Calls: the latest analysed calls; one call in full — transcript with per-segment sentiment, speakers,
// talk and silence ratios (voice), presence, attention, engagement and emotions (video), on one time axis.
let ctx, list, detail, chart;

function facts(rows) {
  return ctx.h("table", {}, ctx.h("tbody", {}, rows.map(([k, v]) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, k), ctx.h("td", {}, v)))));
}

function timeline(holder, xs, series, duration) {
  if (chart) { chart.destroy(); chart = null; }
  holder.replaceChildren();
  if (!xs.length || !window.uPlot) { holder.append(ctx.empty("No timeline for this call.")); return; }
  chart = new window.uPlot({
    width: Math.max(260, holder.clientWidth || 560), height: 200,
    scales: { x: { time: false, range: (_u, min, max) => [0, Math.max(duration || 0, max || 1)] }, y: { range: [-1, 1] } },
    axes: [{ label: "seconds into the call" }, {}],
    series: [{ label: "s" }, ...series.map((s) => ({ label: s.label, stroke: s.color, paths: s.steps ? window.uPlot.paths.stepped({ align: 1 }) : undefined }))],
  }, [xs, ...series.map((s) => s.values)], holder);
}

function voice(a, holder) {
  const segments = a.segments || [];
  const xs = [], scores = []; // each segment a level from its start to its end, a gap between segments
  for (const s of segments) {
    const score = s.sentiment ? s.sentiment.score : null;
    xs.push(s.start, s.end, s.end + 0.001);
    scores.push(score, score, null);
  }
  timeline(holder, xs, [{ label: "segment sentiment", color: "#0b5cad", values: scores }], a.duration_s);
  return [
    facts([["speech", `${ctx.num((a.speaking_ratio || 0) * 100, 0)} %`], ["silence", `${ctx.num((a.silence_ratio || 0) * 100, 0)} %`],
      ["words per minute", ctx.num(a.words_per_minute, 0)], ["keywords", (a.keywords || []).join(", ") || "–"]]),
    (a.speakers || []).length ? ctx.h("div", { class: "scroll" }, ctx.h("table", {},
      ctx.h("thead", {}, ctx.h("tr", {}, ["speaker", "role", "share of speech", "words/min", "turns", "interruptions", "sentiment"].map((t) => ctx.h("th", { scope: "col" }, t)))),
      ctx.h("tbody", {}, a.speakers.map((s) => ctx.h("tr", {}, ctx.h("td", {}, s.speaker), ctx.h("td", {}, s.role || "–"),
        ctx.h("td", {}, `${ctx.num(s.share_of_speech * 100, 0)} %`), ctx.h("td", {}, ctx.num(s.words_per_minute, 0)), ctx.h("td", {}, s.turns),
        ctx.h("td", {}, s.interruptions), ctx.h("td", {}, s.sentiment ? `${s.sentiment.label} ${ctx.num(s.sentiment.score)}` : "–")))))) : null,
    ctx.h("h4", {}, "Transcript"),
    segments.length ? ctx.h("ol", { class: "feed", "data-testid": "transcript" }, segments.map((s) => ctx.h("li", { class: s.sentiment ? `s-${s.sentiment.label}` : "" },
      ctx.h("span", { class: "meta" }, `${ctx.num(s.start, 1)}–${ctx.num(s.end, 1)} s${s.speaker ? ` · ${s.speaker}` : ""} `),
      s.sentiment ? ctx.h("span", { class: `badge ${s.sentiment.label}` }, `${s.sentiment.label} ${ctx.num(s.sentiment.score)}`) : null,
      ctx.h("div", {}, s.text)))) : ctx.empty("No speech was heard."),
  ];
}

function video(a, holder) {
  const frames = a.timeline || [];
  const xs = frames.map((f) => f.timestamp_s);
  timeline(holder, xs, [
    { label: "face present", color: "#6e7781", values: frames.map((f) => (f.face_present ? 1 : 0)), steps: true },
    { label: "attention", color: "#0b5cad", values: frames.map((f) => f.attention) },
    { label: "engagement", color: "#1a7f37", values: frames.map((f) => f.engagement) },
  ], (a.summary || {}).duration_s);
  const s = a.summary || {};
  const mix = Object.entries(s.emotion_mix || {}).sort((x, y) => y[1] - x[1]);
  return [
    facts([["face present", `${ctx.num((s.face_presence_ratio || 0) * 100, 0)} % of frames`], ["mean attention", ctx.num(s.mean_attention)],
      ["mean engagement", ctx.num(s.mean_engagement)], ["dominant emotion", s.dominant_emotion || "–"], ["frames", s.frames]]),
    ctx.h("h4", {}, "Emotion mix"),
    mix.length ? ctx.h("ul", {}, mix.map(([emotion, share]) => ctx.h("li", {}, `${emotion}: ${ctx.num(share * 100, 0)} %`))) : ctx.empty("No face was seen."),
  ];
}

async function open(id) {
  detail.replaceChildren(ctx.h("p", { class: "meta" }, "loading…"));
  const call = await ctx.api(`/v1/insights/calls/${encodeURIComponent(id)}`);
  const holder = ctx.h("div", { class: "chart", "data-testid": "call-timeline" });
  detail.replaceChildren(
    ctx.h("h3", { "data-testid": "call-title" }, `Call ${call.call_id}`),
    ctx.h("p", { class: "meta" }, `${call.kind} · ${ctx.when(call.recorded_at)} · ${ctx.num(call.duration_s, 0)} s · `,
      ctx.h("span", { class: `badge ${call.sentiment || ""}` }, call.sentiment ? `${call.sentiment} ${ctx.num(call.sentiment_score)}` : "no sentiment")),
    holder);
  if (call.not_analysed_reason) { // stored without being analysed: no consent (the recording was never opened)
    detail.append(ctx.h("p", { class: "alert", "data-testid": "not-analysed" }, `Not analysed: ${call.not_analysed_reason}`));
    return;
  }
  const parts = call.kind === "voice" ? voice(call.analysis || {}, holder) : video(call.analysis || {}, holder);
  detail.append(...parts.filter(Boolean));
}

export async function refresh() {
  const calls = await ctx.api("/v1/insights/calls?limit=50");
  list.replaceChildren(calls.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", {},
    ctx.h("thead", {}, ctx.h("tr", {}, ["call", "kind", "recorded", "sentiment", "talk ratio", "engagement"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, calls.map((c) => ctx.h("tr", {},
      ctx.h("td", {}, ctx.h("button", { type: "button", class: "link", onclick: () => open(c.id).catch((e) => detail.replaceChildren(ctx.h("p", { class: "alert" }, e.message))) }, c.call_id)),
      ctx.h("td", {}, c.kind), ctx.h("td", {}, ctx.when(c.recorded_at)),
      ctx.h("td", {}, c.not_analysed_reason ? ctx.h("span", { class: "meta", title: c.not_analysed_reason }, "not analysed")
        : ctx.h("span", { class: `badge ${c.sentiment || ""}` }, c.sentiment || "–")),
      ctx.h("td", {}, ctx.num(c.talk_ratio)), ctx.h("td", {}, ctx.num(c.engagement))))))) : ctx.empty("No analysed calls yet."));
}

export async function mount(c, body) {
  ctx = c;
  list = ctx.h("div", { id: "call-list" });
  detail = ctx.h("div", { class: "card", id: "call-detail" }, ctx.empty("Choose a call."));
  body.append(ctx.h("div", { class: "grid" }, ctx.h("div", { class: "card" }, list), detail));
  ctx.on("crm.call.analyzed", () => refresh());
  await refresh();
}
