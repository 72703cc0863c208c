// Brands: crisis alerts, share of voice against competitors, and each brand's topics (emerging first).
let ctx, crisisBox, voiceBox, topicsBox, picker;

function table(testid, heads, rows) {
  return ctx.h("div", { class: "scroll" }, ctx.h("table", { "data-testid": testid },
    ctx.h("thead", {}, ctx.h("tr", {}, heads.map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows)));
}

function crises(rows) {
  crisisBox.replaceChildren(rows.length ? table("crises", ["brand", "state", "since", "holds", "volume ×", "negative", "reach ×"],
    rows.map((c) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, c.brand),
      ctx.h("td", {}, c.in_crisis ? ctx.h("span", { class: "badge negative" }, "crisis") : "ended"),
      ctx.h("td", {}, ctx.when(c.crisis_changed_at)),
      ctx.h("td", {}, (c.crisis.holds || []).join(", ") || "–"),
      ctx.h("td", {}, ctx.num(c.crisis.volume_ratio, 1)),
      ctx.h("td", {}, `${ctx.num(c.crisis.negative_share * 100, 0)} %`),
      ctx.h("td", {}, ctx.num(c.crisis.reach_ratio, 1))))) : ctx.empty("No crisis in the last 72 hours."));
}

function voice(share) {
  const rows = share.brands;
  voiceBox.replaceChildren(rows.length ? table("share-of-voice", ["brand", "mentions (30 d)", "share", "", "negative", "mean score"],
    rows.map((b) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, b.own ? `${b.name} (yours)` : b.name),
      ctx.h("td", {}, b.mentions), ctx.h("td", {}, b.share == null ? "–" : `${ctx.num(b.share * 100, 1)} %`),
      // <meter>, not a styled bar: the page's CSP allows no inline styles
      ctx.h("td", {}, ctx.h("meter", { min: "0", max: "1", value: String(b.share || 0), title: "share of voice" })),
      ctx.h("td", {}, b.negative_share == null ? "–" : `${ctx.num(b.negative_share * 100, 0)} %`),
      ctx.h("td", {}, ctx.num(b.mean_score))))) : ctx.empty("No watched brands yet: PUT /v1/insights/watched-brands (crm:admin)."));
}

async function topics() {
  const brand = picker.value;
  if (!brand) { topicsBox.replaceChildren(ctx.empty("No brand has mentions yet.")); return; }
  const t = await ctx.api(`/v1/insights/topics?${new URLSearchParams({ brand, hours: "24" })}`);
  topicsBox.replaceChildren(t.topics.length ? table("topics", ["topic", "mentions (24 h)", "usual", "×", "", "negative", "latest"],
    t.topics.map((r) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, r.title || "–"),
      ctx.h("td", {}, r.recent), ctx.h("td", {}, ctx.num(r.expected, 1)), ctx.h("td", {}, ctx.num(r.ratio, 1)),
      ctx.h("td", {}, r.emerging ? ctx.h("span", { class: "badge medium" }, "emerging") : ""),
      ctx.h("td", {}, r.negative), ctx.h("td", { class: "meta" }, (r.latest_text || "").slice(0, 120))))) : ctx.empty("No topic of three mentions or more yet."));
}

export async function refresh() {
  const [list, share, brands] = await Promise.all([
    ctx.api("/v1/insights/crises?hours=72"),
    ctx.api("/v1/insights/share-of-voice?days=30&bucket=day"),
    ctx.api("/v1/insights/brands?hours=168"),
  ]);
  crises(list);
  voice(share);
  const chosen = picker.value;
  picker.replaceChildren(...brands.map((b) => ctx.h("option", { value: b.brand, selected: b.brand === chosen }, b.brand)));
  await topics();
}

export async function mount(c, body) {
  ctx = c;
  crisisBox = ctx.h("div", { id: "crises", "aria-live": "polite" });
  voiceBox = ctx.h("div", { id: "share-of-voice" });
  topicsBox = ctx.h("div", { id: "topics" });
  picker = ctx.h("select", { id: "topic-brand", onchange: () => topics().catch((e) => topicsBox.replaceChildren(ctx.h("p", { class: "alert" }, e.message))) });
  body.append(ctx.h("div", { class: "grid" },
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Crisis alerts"), crisisBox),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Share of voice"), voiceBox)),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Topics "), ctx.h("label", { for: "topic-brand" }, "brand "), picker, topicsBox));
  ctx.on("crm.sentiment.detected", (e) => {
    if (e.payload.crisis && e.payload.crisis.started) refresh().catch(() => {});
  });
  await refresh();
}
