// Calls: the latest analysed calls; a call's transcript excerpt, sentiment, talk ratio and video signals.
let ctx, list, detail;

function show(call) {
  detail.replaceChildren(
    ctx.h("h3", {}, `Call ${call.call_id}`),
    ctx.h("p", { class: "meta" }, `${call.kind} · ${ctx.when(call.recorded_at)} · ${ctx.num(call.duration_s, 0)} s`),
    ctx.h("table", {}, ctx.h("tbody", {},
      [["sentiment", `${call.sentiment || "–"} ${ctx.num(call.sentiment_score)}`],
        ["talk ratio", ctx.num(call.talk_ratio)], ["words per minute", ctx.num(call.words_per_minute, 0)],
        ["engagement", ctx.num(call.engagement)], ["attention", ctx.num(call.attention)],
        ["dominant emotion", call.dominant_emotion || "–"],
        ["keywords", (call.keywords || []).map((k) => (typeof k === "string" ? k : k.keyword || k.text)).join(", ")]]
        .map(([k, v]) => ctx.h("tr", {}, ctx.h("th", { scope: "row" }, k), ctx.h("td", {}, v))))),
    ctx.h("h4", {}, "Transcript"), ctx.h("p", { "data-testid": "transcript" }, call.transcript || "(no speech)"));
}

export async function refresh() {
  const calls = await ctx.api("/v1/insights/calls?limit=50");
  list.replaceChildren(calls.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", {},
    ctx.h("thead", {}, ctx.h("tr", {}, ["call", "kind", "recorded", "sentiment", "talk ratio", "engagement"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, calls.map((c) => ctx.h("tr", {},
      ctx.h("td", {}, ctx.h("button", { type: "button", class: "link", onclick: () => show(c) }, c.call_id)),
      ctx.h("td", {}, c.kind), ctx.h("td", {}, ctx.when(c.recorded_at)),
      ctx.h("td", {}, ctx.h("span", { class: `badge ${c.sentiment || ""}` }, c.sentiment || "–")),
      ctx.h("td", {}, ctx.num(c.talk_ratio)), ctx.h("td", {}, ctx.num(c.engagement))))))) : ctx.empty("No analysed calls yet."));
}

export async function mount(c, body) {
  ctx = c;
  list = ctx.h("div", {});
  detail = ctx.h("div", { class: "card", id: "call-detail" }, ctx.empty("Choose a call."));
  body.append(ctx.h("div", { class: "grid" }, ctx.h("div", { class: "card" }, list), detail));
  ctx.on("crm.call.analyzed", () => refresh());
  await refresh();
}
