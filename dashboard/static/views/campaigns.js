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
      [...variants, { ...(f.total || {}), variant: "total" }].map((v) => [v.variant, v.sent, v.delivered, v.unique_opens, v.unique_clicks, v.conversions, `${v.revenue} ${f.currency}`])));
  } catch (err) { detail.append(ctx.h("p", { class: "meta" }, `figures: ${err.message}`)); }
  try {
    const x = await ctx.api(`/v1/insights/campaigns/${campaign.id}/experiment`);
    const a = x.analysis || {};
    detail.append(ctx.h("h4", {}, "A/B test"),
      ctx.h("p", { "data-testid": "ab-decision" }, `decision: ${a.decision || "–"}${a.winner ? ` (winner ${a.winner})` : ""} · ${a.reason || ""}`),
      table(["variant", "recipients", "conversions", "rate", "95 % interval", "P(best)", "expected loss", "next share"],
        (a.arms || []).map((arm) => [arm.name, arm.recipients, arm.conversions, ctx.num(arm.mean, 4),
          `${ctx.num(arm.interval[0], 4)} – ${ctx.num(arm.interval[1], 4)}`, ctx.num(arm.p_best), ctx.num(arm.expected_loss, 5), `${ctx.num(arm.allocation * 100, 0)} %`])),
      a.sample_ratio && a.sample_ratio.alert ? ctx.h("p", { class: "alert" }, "Sample ratio mismatch: the split is not what was planned.") : null);
  } catch (err) { if (err.status !== 404) detail.append(ctx.h("p", { class: "meta" }, `A/B: ${err.message}`)); }
}

export async function refresh() {
  const page = await ctx.api("/v1/crm/campaigns?limit=50");
  list.replaceChildren(page.items.length ? ctx.h("ul", {}, page.items.map((c) => ctx.h("li", {},
    ctx.h("button", { type: "button", class: "link", onclick: () => open(c) }, c.name), ctx.h("span", { class: "meta" }, ` ${c.status}`)))) : ctx.empty("No campaigns yet."));
  try {
    const att = await ctx.api("/v1/insights/attribution");
    const results = att.results || [];
    const channels = [...new Set(results.flatMap((r) => r.channels.map((c) => c.channel)))].sort();
    const share = (r, ch) => { const c = r.channels.find((x) => x.channel === ch); return c ? `${ctx.num(c.share * 100, 0)} %` : "–"; };
    const roas = (ch) => { const c = (results[0] || { channels: [] }).channels.find((x) => x.channel === ch); return c && c.roas !== null && c.roas !== undefined ? ctx.num(c.roas) : "–"; };
    attribution.replaceChildren(att.state !== "ok" || !results.length ? ctx.empty(att.reason || "Not enough orders with touches yet.") :
      table(["channel", ...results.map((r) => r.model), "ROAS"], channels.map((ch) => [ch, ...results.map((r) => share(r, ch)), roas(ch)])));
  } catch (err) { attribution.replaceChildren(ctx.h("p", { class: "meta" }, err.message)); }
}

let budget;

async function plan(weekly, currency) {
  budget.replaceChildren(ctx.h("p", { class: "meta" }, "fitting response curves…"));
  try {
    const p = await ctx.api(`/v1/insights/budget?${new URLSearchParams({ budget: weekly, currency })}`);
    budget.replaceChildren(p.state !== "ok" ? ctx.empty(p.reason || "Not enough weeks of spend and revenue yet.") :
      ctx.h("div", {}, table(["channel", `latest week (${currency})`, `recommended (${currency})`, "marginal return"],
        p.channels.map((c) => [c.channel, ctx.num(c.current, 0), ctx.num(c.recommended, 0), ctx.num(c.marginal_return)])),
        ctx.h("p", {}, `expected ${p.target} per week: ${ctx.num(p.outcome_current, 0)} now, ${ctx.num(p.outcome_recommended, 0)} with this split`,
          p.gain_interval ? ` (gain, 90 % interval: ${ctx.num(p.gain_interval[0], 0)} to ${ctx.num(p.gain_interval[1], 0)})` : "")));
  } catch (err) { budget.replaceChildren(ctx.h("p", { class: "meta" }, err.message)); }
}

export async function mount(c, body) {
  ctx = c;
  budget = ctx.h("div", {});
  const weekly = ctx.h("input", { id: "budget-weekly", type: "number", min: 1, step: 1, value: 10000, required: true });
  const currency = ctx.h("input", { id: "budget-currency", value: "RON", size: 3, maxlength: 3, pattern: "[A-Z]{3}", required: true });
  list = ctx.h("div", {});
  detail = ctx.h("div", { class: "card" }, ctx.empty("Choose a campaign."));
  attribution = ctx.h("div", {});
  body.append(ctx.h("div", { class: "grid" }, ctx.h("div", { class: "card" }, list), detail),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Attribution (orders credited per channel and model)"), attribution),
    ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Budget recommendation"),
      ctx.h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); plan(weekly.value, currency.value); } },
        ctx.h("label", { for: "budget-weekly" }, "Weekly budget"), weekly, ctx.h("label", { for: "budget-currency" }, "Currency"), currency,
        ctx.h("button", { type: "submit" }, "Plan")), budget));
  ctx.on("crm.ab.test.optimized", () => refresh());
  await refresh();
}
