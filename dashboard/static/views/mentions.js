// Mentions: the live feed (coloured by sentiment) and "find similar" (pgvector k-NN).
let ctx, feed, results;

function item(m) {
  return ctx.h("li", { class: `s-${m.sentiment}`, "data-testid": "mention" },
    ctx.h("div", {}, m.text),
    ctx.h("div", { class: "meta" },
      ctx.h("span", { class: `badge ${m.sentiment}` }, `${m.sentiment} ${ctx.num(m.score)}`), " ",
      `${m.brand || ""} · ${m.platform || ""} · ${m.author || "unknown author"} · ${ctx.when(m.at)} `,
      ctx.h("button", { type: "button", class: "link", onclick: () => similar({ text: m.text }) }, "find similar")));
}

async function similar(query) {
  results.replaceChildren(ctx.h("p", { class: "meta" }, "searching…"));
  try {
    const rows = await ctx.api("/v1/insights/mentions/similar", { method: "POST", body: { ...query, k: 10 } });
    results.replaceChildren(rows.length ? ctx.h("ul", { class: "feed", "data-testid": "similar" }, rows.map((r) => item({
      text: r.text, sentiment: r.sentiment, score: r.sentiment_score, brand: r.brand, platform: r.platform,
      author: r.author, at: r.posted_at,
    }))) : ctx.empty("Nothing similar stored yet."));
  } catch (err) {
    results.replaceChildren(ctx.h("p", { class: "alert" }, err.message));
  }
}

export async function mount(c, body) {
  ctx = c;
  feed = ctx.h("ul", { class: "feed", id: "mention-feed", "aria-live": "polite" });
  results = ctx.h("div", { id: "similar-results" });
  const input = ctx.h("input", { id: "similar-text", type: "search", required: true, maxlength: 2000, size: 40 });
  body.append(ctx.h("div", { class: "grid" },
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Live"), feed),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Find similar"),
      ctx.h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); similar({ text: input.value }); } },
        ctx.h("label", { for: "similar-text" }, "Text"), input, ctx.h("button", { type: "submit" }, "Search")),
      results)));
  feed.append(ctx.empty("Waiting for mentions…"));
  ctx.on("crm.sentiment.detected", (e) => {
    const p = e.payload;
    const m = e.mention || {};
    if (feed.querySelector(".empty")) feed.replaceChildren();
    feed.prepend(item({ text: m.text || "", sentiment: p.sentiment, score: p.score, brand: p.brand,
      platform: p.platform, author: m.author, at: e.occurred_at }));
    while (feed.children.length > 200) feed.lastChild.remove();
  });
}
