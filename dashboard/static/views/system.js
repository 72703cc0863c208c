// System: the engine's own Prometheus metrics per model (rate, p50/p95, batch size, queue depth, errors)
// and the tenant's stream lag (event time → stored) per source over the last 15 minutes.
let ctx, box, lagBox, previous = null;

function parse(text) {
  const series = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-z_:]+)(?:\{([^}]*)\})?\s+([^\s]+)/);
    if (!m) continue;
    const labels = {};
    for (const part of (m[2] || "").match(/[a-z_]+="[^"]*"/g) || []) {
      const eq = part.indexOf("=");
      labels[part.slice(0, eq)] = part.slice(eq + 2, -1);
    }
    series.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return series;
}

function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (!total) return null;
  let prevLe = 0, prevCount = 0;
  for (const b of buckets) {
    if (b.count >= q * total) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + ((q * total - prevCount) / Math.max(1, b.count - prevCount)) * (b.le - prevLe);
    }
    prevLe = b.le; prevCount = b.count;
  }
  return prevLe;
}

export async function refresh() {
  const series = parse(await ctx.api("/metrics", { text: true }));
  const models = {};
  const get = (m) => (models[m] ||= { ok: 0, errors: 0, items: 0, buckets: [], batch: [], batchSum: 0, batchCount: 0, inflight: 0 });
  for (const s of series) {
    const model = s.labels.model;
    if (!model) continue;
    const m = get(model);
    if (s.name === "vettify_model_requests_total") { if (s.labels.outcome === "ok") m.ok += s.value; else m.errors += s.value; }
    else if (s.name === "vettify_model_items_total") m.items = s.value;
    else if (s.name === "vettify_model_request_seconds_bucket") m.buckets.push({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value });
    else if (s.name === "vettify_model_batch_items_sum") m.batchSum = s.value;
    else if (s.name === "vettify_model_batch_items_count") m.batchCount = s.value;
    else if (s.name === "vettify_model_inflight_requests") m.inflight = s.value;
  }
  const now = Date.now();
  const rows = Object.entries(models).sort().map(([name, m]) => {
    m.buckets.sort((a, b) => a.le - b.le);
    const before = previous && previous.models[name];
    const rate = before ? ((m.ok + m.errors - before.ok - before.errors) / ((now - previous.at) / 1000)) : null;
    const p50 = quantile(m.buckets, 0.5), p95 = quantile(m.buckets, 0.95);
    return ctx.h("tr", { "data-model": name }, ctx.h("th", { scope: "row" }, name),
      ctx.h("td", { "data-testid": "requests" }, m.ok + m.errors), ctx.h("td", {}, rate === null ? "–" : ctx.num(rate, 1)),
      ctx.h("td", {}, p50 === null ? "–" : ctx.num(p50 * 1000, 1)), ctx.h("td", {}, p95 === null ? "–" : ctx.num(p95 * 1000, 1)),
      ctx.h("td", {}, m.batchCount ? ctx.num(m.batchSum / m.batchCount, 1) : "–"), ctx.h("td", {}, m.inflight), ctx.h("td", {}, m.errors));
  });
  previous = { at: now, models };
  box.replaceChildren(rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { id: "model-metrics" },
    ctx.h("thead", {}, ctx.h("tr", {}, ["model", "requests", "req/s", "p50 ms", "p95 ms", "mean batch", "queue", "errors"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows))) : ctx.empty("No model calls yet."));
}

async function refreshLag() {
  const rows = await ctx.api("/v1/insights/stream-lag?minutes=15");
  const secs = (x) => ctx.num(x, x < 10 ? 2 : 0);
  const head = ctx.h("thead", {}, ctx.h("tr", {},
    ["source", "event type", "events", "p50 s", "p95 s", "max s", "latest stored"].map((t) => ctx.h("th", { scope: "col" }, t))));
  const body = ctx.h("tbody", {}, rows.map((r) => ctx.h("tr", { "data-source": r.source, "data-event-type": r.event_type },
    ctx.h("th", { scope: "row" }, r.source), ctx.h("td", {}, r.event_type), ctx.h("td", { "data-testid": "events" }, r.events),
    ctx.h("td", {}, secs(r.p50_s)), ctx.h("td", {}, secs(r.p95_s)), ctx.h("td", {}, secs(r.max_s)),
    ctx.h("td", {}, ctx.when(r.last_stored_at)))));
  lagBox.replaceChildren(
    ctx.h("h3", {}, "Stream lag, last 15 min (event time → stored)"),
    rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { id: "stream-lag" }, head, body))
      : ctx.empty("No events stored in the last 15 minutes."));
}

export async function mount(c, body) {
  ctx = c;
  box = ctx.h("div", { class: "card" });
  lagBox = ctx.h("div", { class: "card", "aria-live": "polite" });
  body.append(box, lagBox);
  await Promise.all([refresh(), refreshLag()]);
  setInterval(() => { if (!body.closest("section").hidden) refreshLag().catch(() => {}); }, 5000);
  setInterval(() => { if (!body.closest("section").hidden) refresh().catch(() => {}); }, 5000);
}
