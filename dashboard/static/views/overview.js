// Overview: live KPIs, sentiment per hour (chart), spike alerts.
let ctx, box, chart, state;

function kpi(label, id) {
  return ctx.h("div", { class: "kpi" }, ctx.h("div", { class: "v", id }, "–"), ctx.h("div", { class: "l" }, label));
}
function set(id, value) { document.getElementById(id).textContent = value; }

function draw(rows) {
  const holder = box.querySelector(".chart");
  holder.replaceChildren();
  if (!rows.length) { holder.append(ctx.empty("No mentions in the last 48 hours yet.")); return; }
  const xs = rows.map((r) => new Date(r.bucket).getTime() / 1000);
  const data = [xs, rows.map((r) => r.positive), rows.map((r) => r.neutral), rows.map((r) => r.negative)];
  if (!window.uPlot) return;
  const width = Math.max(260, holder.clientWidth || 600);
  const now = Date.now() / 1000;
  if (chart) chart.destroy();
  chart = new window.uPlot({
    width, height: 220,
    scales: { x: { time: true, range: () => [now - 48 * 3600, now] } },
    series: [{}, { label: "positive", stroke: "#1a7f37" }, { label: "neutral", stroke: "#6e7781" },
      { label: "negative", stroke: "#cf222e" }],
    axes: [{}, { label: "mentions / hour" }],
  }, data, holder);
}

function fit() {
  const holder = box.querySelector(".chart");
  if (chart && holder.clientWidth) chart.setSize({ width: Math.max(260, holder.clientWidth), height: 220 });
}

function brandTable(rows) {
  const holder = document.getElementById("brands");
  const picker = document.getElementById("brand-pick");
  const chosen = picker.value;
  picker.replaceChildren(ctx.h("option", { value: "" }, "all brands"),
    rows.map((b) => ctx.h("option", { value: b.brand, selected: b.brand === chosen }, b.brand)));
  holder.replaceChildren(rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { "data-testid": "brands" },
    ctx.h("thead", {}, ctx.h("tr", {}, ["brand", "mentions (24 h)", "positive", "neutral", "negative", "mean score", "spike"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows.map((b) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, b.brand), ctx.h("td", {}, b.mentions),
      ctx.h("td", {}, b.positive), ctx.h("td", {}, b.neutral), ctx.h("td", {}, b.negative), ctx.h("td", {}, ctx.num(b.mean_score)),
      ctx.h("td", {}, b.in_spike ? ctx.h("span", { class: "badge negative" }, "negative spike") : "–")))))) : ctx.empty("No mentions in the last 24 hours."));
}

async function loadChart() {
  const brand = document.getElementById("brand-pick").value;
  const query = new URLSearchParams({ bucket: "hour", days: "2" });
  if (brand) query.set("brand", brand);
  draw(await ctx.api(`/v1/insights/sentiment?${query}`));
}

export async function refresh() {
  const [timeline, calls, dead, brands] = await Promise.all([
    ctx.api("/v1/insights/sentiment?bucket=hour&days=2"),
    ctx.api("/v1/insights/calls?limit=200"),
    ctx.api("/v1/events/dead-letters?limit=200"),
    ctx.api("/v1/insights/brands?hours=24"),
  ]);
  brandTable(brands);
  state.loadedAt = Date.now(); // mentions committed after this are counted live
  const lastHour = timeline.filter((r) => Date.now() - new Date(r.bucket).getTime() < 3600e3);
  const total = lastHour.reduce((a, r) => a + r.mentions, 0);
  const scored = timeline.filter((r) => r.mean_score !== null);
  set("k-mentions-hour", total);
  set("k-mean", scored.length ? ctx.num(scored[scored.length - 1].mean_score) : "–");
  set("k-calls", calls.length >= 200 ? "200+" : calls.length);
  set("k-dead", dead.items.length >= 200 ? "200+" : dead.items.length);
  if (document.getElementById("brand-pick").value) await loadChart(); else draw(timeline);
}

function perMinute() {
  const cutoff = Date.now() - 60e3;
  state.recent = state.recent.filter((t) => t >= cutoff);
  set("k-per-minute", state.recent.length);
}

export async function mount(c, body) {
  ctx = c; box = body;
  state = { recent: [], atRisk: new Map(), loadedAt: Date.now() };
  body.append(
    ctx.h("div", { class: "kpis" },
      kpi("mentions in the last minute (live)", "k-per-minute"), kpi("mentions this hour", "k-mentions-hour"),
      kpi("mean sentiment score, latest hour with mentions", "k-mean"), kpi("calls analysed", "k-calls"),
      kpi("accounts at high churn risk (live)", "k-risk"), kpi("dead letters", "k-dead")),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Brands"), ctx.h("div", { id: "brands" })),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Sentiment per hour, last 48 hours"),
      ctx.h("label", { for: "brand-pick" }, "Brand "),
      ctx.h("select", { id: "brand-pick", onchange: () => loadChart().catch(() => {}) }, ctx.h("option", { value: "" }, "all brands")),
      ctx.h("div", { class: "chart" })),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Spike alerts"), ctx.h("div", { id: "alerts" }, ctx.empty("No spike since you opened the page."))),
  );
  set("k-risk", 0);
  ctx.on("crm.sentiment.detected", (e) => {
    const at = Date.parse(e.occurred_at);
    state.recent.push(Number.isNaN(at) ? Date.now() : at);
    perMinute();
    if (at >= state.loadedAt) set("k-mentions-hour", Number(document.getElementById("k-mentions-hour").textContent || 0) + 1);
    const p = e.payload;
    clearTimeout(state.brandTimer); // one brands reload per burst of mentions
    state.brandTimer = setTimeout(() => ctx.api("/v1/insights/brands?hours=24").then(brandTable).catch(() => {}), 2000);
    if (p.spike_started) {
      const alerts = document.getElementById("alerts");
      if (alerts.querySelector(".empty")) alerts.replaceChildren();
      alerts.prepend(ctx.h("div", { class: "alert", role: "alert" },
        `Negative spike for ${p.brand}: ${p.window.negative} of ${p.window.mentions} mentions in ${p.window.minutes} min `,
        ctx.h("span", { class: "meta" }, ctx.when(e.occurred_at))));
    }
  });
  ctx.on("crm.churn.scored", (e) => {
    const p = e.payload;
    if (p.bucket === "high") state.atRisk.set(p.account_id, p); else state.atRisk.delete(p.account_id);
    set("k-risk", state.atRisk.size);
  });
  ctx.on("crm.call.analyzed", (e) => {
    const shown = document.getElementById("k-calls").textContent;
    if (Date.parse(e.occurred_at) >= state.loadedAt && !shown.endsWith("+")) set("k-calls", Number(shown || 0) + 1);
  });
  setInterval(perMinute, 5000);
  new ResizeObserver(fit).observe(box.querySelector(".chart"));
  await refresh();
}
