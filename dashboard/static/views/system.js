// System: the engine's own Prometheus metrics per model (rate, p50/p95, batch size, queue depth, errors),
// each SLO indicator's error budget left (the deployed spec's model objectives, from the same counters)
// and the tenant's stream lag (event time → stored) per source over the last 15 minutes.
let ctx, box, sloBox, lagBox, previous = null, indicators = null;

// The Prometheus text format; label values may hold "}" and escaped quotes (route templates, paths).
function parse(text) {
  const series = [];
  const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const head = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
    if (!head) continue;
    let at = head[0].length;
    const labels = {};
    if (line[at] === "{") {
      at += 1;
      label.lastIndex = at;
      let m;
      while ((m = label.exec(line))) { labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c)); at = label.lastIndex; }
      if (line[at] !== "}") continue;
      at += 1;
    }
    const value = line.slice(at).trim().split(/\s+/)[0];
    series.push({ name: head[0], labels, value: Number(value) });
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
  await renderBudgets(series);
  box.replaceChildren(rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { id: "model-metrics" },
    ctx.h("thead", {}, ctx.h("tr", {}, ["model", "requests", "req/s", "p50 ms", "p95 ms", "mean batch", "queue", "errors"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows))) : ctx.empty("No model calls yet."));
}

// Budget left = 1 − (bad share ÷ budget) over what the engine has counted since its replicas started;
// Prometheus with the rules `vettify slo rules` generates gives the same over the spec's window.
function budgets(pages) {
  return indicators.indicators.map((i) => {
    let total = 0, bad = 0;
    const picked = (s) => Object.entries(i.labels).every(([k, v]) => s.labels[k] === v)
      && Object.entries(i.exclude).every(([k, v]) => s.labels[k] !== v);
    for (const s of pages[i.scrape] || []) {
      if (!picked(s)) continue;
      if (i.kind === "errors" && s.name === i.counter) {
        total += s.value;
        if (i.bad_values.includes(s.labels[i.bad_label])) bad += s.value;
      } else if (i.kind === "latency" && s.name === `${i.histogram}_count`) total += s.value;
      else if (i.kind === "latency" && s.name === `${i.histogram}_bucket` && s.labels.le === i.le) bad -= s.value;
    }
    if (i.kind === "latency") bad += total;
    const share = total ? bad / total : null;
    return { ...i, total, share, left: share === null ? null : 1 - share / i.budget };
  });
}

async function metricsPages(gateway) {
  const pages = { "/metrics": gateway };
  for (const path of new Set(indicators.indicators.map((i) => i.scrape))) {
    if (!(path in pages)) pages[path] = parse(await ctx.api(path, { text: true }).catch(() => ""));
  }
  return pages;
}

async function renderBudgets(series) {
  if (!indicators) return;
  const pages = await metricsPages(series);
  const pct = (x) => `${ctx.num(100 * x, x < 0.01 ? 2 : 1)} %`;
  const rows = budgets(pages).map((b) => {
    const left = b.left === null ? null : Math.max(-1, Math.min(1, b.left));
    const state = left === null ? "idle" : left <= 0 ? "exhausted" : left < 0.25 ? "low" : "ok";
    // <meter> rather than a styled bar: the page's CSP allows no inline styles, and it is accessible as is
    const bar = ctx.h("meter", { min: "0", max: "1", low: "0.25", optimum: "1", value: String(left === null ? 0 : Math.max(left, 0)),
      title: left === null ? "no requests yet" : `${pct(Math.max(left, 0))} of the budget left` });
    return ctx.h("tr", { "data-slo": b.slo, "data-state": state }, ctx.h("th", { scope: "row" }, b.slo),
      ctx.h("td", {}, b.summary), ctx.h("td", {}, b.total), ctx.h("td", {}, b.share === null ? "–" : pct(b.share)),
      ctx.h("td", {}, pct(b.budget)),
      ctx.h("td", { "data-testid": "budget-left" }, left === null ? "–" : left <= 0 ? "exhausted" : pct(left), " ", bar));
  });
  const head = ctx.h("thead", {}, ctx.h("tr", {},
    ["indicator", "alerts when", "requests", "bad", "budget", "budget left"].map((t) => ctx.h("th", { scope: "col" }, t))));
  sloBox.replaceChildren(
    ctx.h("h3", {}, `Objectives (${indicators.spec}): error budget left since the gateway started`),
    indicators.problem ? ctx.empty(indicators.problem)
      : rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { id: "slo-budgets" }, head, ctx.h("tbody", {}, rows)))
        : ctx.empty("The spec has no model objectives."),
    indicators.measured_by_runs_only.length ? ctx.h("p", { class: "summary" },
      `Measured by \`vettify slo run\` only: ${indicators.measured_by_runs_only.join(", ")}.`) : "");
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
  sloBox = ctx.h("div", { class: "card", id: "slo-card" });
  lagBox = ctx.h("div", { class: "card", "aria-live": "polite" });
  body.append(box, sloBox, lagBox);
  indicators = await ctx.api("/dashboard/slo");
  await Promise.all([refresh(), refreshLag()]);
  setInterval(() => { if (!body.closest("section").hidden) refreshLag().catch(() => {}); }, 5000);
  setInterval(() => { if (!body.closest("section").hidden) refresh().catch(() => {}); }, 5000);
}
