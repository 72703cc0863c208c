// Journeys: live behaviour patterns and their conversion propensity; sessions similar to a typed path.
let ctx, feed, results;

function row(p, at) {
  return ctx.h("li", { class: p.converted ? "s-positive" : "s-neutral" },
    ctx.h("div", {}, p.journey),
    ctx.h("div", { class: "meta" }, `${p.steps} steps · propensity ${ctx.num(p.conversion_propensity)} · `,
      p.converted ? "converted" : "not converted", at ? ` · ${ctx.when(at)}` : ""));
}

let funnel;

export async function refresh() {
  const stages = await ctx.api("/v1/insights/funnel?days=30");
  const top = Math.max(1, ...stages.map((s) => s.sessions));
  funnel.replaceChildren(stages[0].sessions ? ctx.h("table", { "data-testid": "funnel" }, ctx.h("tbody", {}, stages.map((s) => ctx.h("tr", {},
    ctx.h("th", { scope: "row" }, s.stage), ctx.h("td", {}, s.sessions),
    ctx.h("td", {}, s.share === null ? "–" : `${ctx.num(s.share * 100, 0)} %`),
    ctx.h("td", { class: "barcell" }, ctx.h("meter", { min: 0, max: top, value: s.sessions, title: s.events.join(", ") }, s.sessions)))))) : ctx.empty("No pixel sessions in the last 30 days."));
}

export async function mount(c, body) {
  ctx = c;
  funnel = ctx.h("div", { id: "funnel" });
  feed = ctx.h("ul", { class: "feed" }, ctx.empty("Waiting for web sessions…"));
  results = ctx.h("div", {});
  const input = ctx.h("input", { id: "journey-text", type: "search", required: true, size: 40,
    placeholder: "page_view:/pricing > click:demo" });
  body.append(ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Pixel funnel, last 30 days (sessions that reached each stage)"), funnel));
  body.append(ctx.h("div", { class: "grid" },
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Live patterns"), feed),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Similar journeys"),
      ctx.h("form", { class: "inline", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const rows = await ctx.api("/v1/insights/patterns/similar", { method: "POST", body: { text: input.value, k: 10 } });
          results.replaceChildren(rows.length ? ctx.h("ul", { class: "feed" }, rows.map((r) => row(r, r.last_seen_at))) : ctx.empty("No sessions stored yet."));
        } catch (err) { results.replaceChildren(ctx.h("p", { class: "alert" }, err.message)); }
      } }, ctx.h("label", { for: "journey-text" }, "Path"), input, ctx.h("button", { type: "submit" }, "Search")),
      results)));
  ctx.on("crm.social.pixel.analyzed", () => { clearTimeout(funnel.timer); funnel.timer = setTimeout(() => refresh().catch(() => {}), 2000); });
  await refresh();
  ctx.on("crm.behavior.pattern.detected", (e) => {
    if (feed.querySelector(".empty")) feed.replaceChildren();
    feed.prepend(row(e.payload, e.occurred_at));
    while (feed.children.length > 100) feed.lastChild.remove();
  });
}
