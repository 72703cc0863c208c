// Journeys: live behaviour patterns and their conversion propensity; sessions similar to a typed path.
let ctx, feed, results;

function row(p, at) {
  return ctx.h("li", { class: p.converted ? "s-positive" : "s-neutral" },
    ctx.h("div", {}, p.journey),
    ctx.h("div", { class: "meta" }, `${p.steps} steps · propensity ${ctx.num(p.conversion_propensity)} · `,
      p.converted ? "converted" : "not converted", at ? ` · ${ctx.when(at)}` : ""));
}

export async function mount(c, body) {
  ctx = c;
  feed = ctx.h("ul", { class: "feed" }, ctx.empty("Waiting for web sessions…"));
  results = ctx.h("div", {});
  const input = ctx.h("input", { id: "journey-text", type: "search", required: true, size: 40,
    placeholder: "page_view:/pricing > click:demo" });
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
  ctx.on("crm.behavior.pattern.detected", (e) => {
    if (feed.querySelector(".empty")) feed.replaceChildren();
    feed.prepend(row(e.payload, e.occurred_at));
    while (feed.children.length > 100) feed.lastChild.remove();
  });
}
