// Campaigns: per-variant figures, the A/B posteriors and decision, attribution per channel.
let ctx, list, detail, attribution;

function table(headers, rows) {
  return ctx.h("div", { class: "scroll" }, ctx.h("table", {},
    ctx.h("thead", {}, ctx.h("tr", {}, headers.map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows.map((r) => ctx.h("tr", {}, r.map((v) => ctx.h("td", {}, v)))))));
}

async function open(campaign) {
  detail.replaceChildren(ctx.h("h3", {}, campaign.name), ctx.h("p", { class: "meta" }, `${campaign.channel || ""} · ${campaign.status}`));
  try {
    const f = await ctx.api(`/v1/crm/campaigns/${campaign.id}/figures`);
    const variants = f.variants || [];
    detail.append(ctx.h("h4", {}, "Figures"), table(["variant", "sent", "delivered", "opens", "clicks", "conversions", "revenue"],
      [...variants, { variant: "total", ...(f.total || {}) }].map((v) => [v.variant, v.sent, v.delivered, v.unique_opens ?? v.opens, v.unique_clicks ?? v.clicks, v.conversions, v.revenue])));
  } catch (err) { detail.append(ctx.h("p", { class: "meta" }, `figures: ${err.message}`)); }
  try {
    const x = await ctx.api(`/v1/insights/campaigns/${campaign.id}/experiment`);
    const a = x.analysis || {};
    detail.append(ctx.h("h4", {}, "A/B test"), ctx.h("p", {}, `decision: ${a.decision || a.state || x.state || "–"}`),
      table(["variant", "P(best)", "expected loss", "share"], (a.arms || []).map((arm) => [arm.variant, ctx.num(arm.p_best), ctx.num(arm.expected_loss, 4), ctx.num(arm.allocation ?? arm.weight)])));
  } catch (err) { if (err.status !== 404) detail.append(ctx.h("p", { class: "meta" }, `A/B: ${err.message}`)); }
}

export async function refresh() {
  const page = await ctx.api("/v1/crm/campaigns?limit=50");
  list.replaceChildren(page.items.length ? ctx.h("ul", {}, page.items.map((c) => ctx.h("li", {},
    ctx.h("button", { type: "button", class: "link", onclick: () => open(c) }, c.name), ctx.h("span", { class: "meta" }, ` ${c.status}`)))) : ctx.empty("No campaigns yet."));
  try {
    const att = await ctx.api("/v1/insights/attribution");
    const models = att.models ? Object.keys(att.models) : [];
    attribution.replaceChildren(att.state === "not_enough_data" || !models.length ? ctx.empty("Not enough orders with touches yet.") :
      table(["channel", ...models], Object.keys(att.models[models[0]] || {}).map((ch) => [ch, ...models.map((m) => ctx.num((att.models[m] || {})[ch]))])));
  } catch (err) { attribution.replaceChildren(ctx.h("p", { class: "meta" }, err.message)); }
}

export async function mount(c, body) {
  ctx = c;
  list = ctx.h("div", {});
  detail = ctx.h("div", { class: "card" }, ctx.empty("Choose a campaign."));
  attribution = ctx.h("div", {});
  body.append(ctx.h("div", { class: "grid" }, ctx.h("div", { class: "card" }, list), detail),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Attribution (orders credited per channel and model)"), attribution));
  ctx.on("crm.ab.test.optimized", () => refresh());
  await refresh();
}
