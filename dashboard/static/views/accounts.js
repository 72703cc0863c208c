// Accounts: Account 360 with the churn badge, ANAF compliance, pipeline, LinkedIn intent and the timeline.
let ctx, list, detail;
const factors = new Map(); // account id -> latest churn factors seen live

async function open(id) {
  detail.replaceChildren(ctx.h("p", { class: "meta" }, "loading…"));
  const a = await ctx.api(`/v1/crm/accounts/${encodeURIComponent(id)}/360`);
  const churn = a.churn_risk.available ? a.churn_risk.data : null;
  const trend = a.sentiment_trend.available ? a.sentiment_trend.data : [];
  const intent = a.prospect_intent && a.prospect_intent.available ? a.prospect_intent.data.prospects : [];
  const accountIntent = intent.length ? a.prospect_intent.data : null;
  const live = factors.get(id) || [];
  detail.replaceChildren(...[
    ctx.h("h3", { "data-testid": "account-name" }, a.account.name),
    ctx.h("p", {},
      ctx.h("span", { class: `badge ${churn ? churn.bucket : ""}`, "data-testid": "churn-badge" },
        churn ? `churn risk ${churn.bucket} (${ctx.num(churn.probability * 100, 0)} %)` : "no churn score yet"), " ",
      ctx.h("span", { class: "badge" }, `ANAF: ${a.compliance.status}`),
      a.compliance.checked_at ? ctx.h("span", { class: "meta" }, ` checked ${ctx.when(a.compliance.checked_at)}`) : null),
    live.length ? ctx.h("div", {}, ctx.h("h4", {}, "Why (top contributions)"),
      ctx.h("ul", {}, live.map((f) => ctx.h("li", {}, `${f.feature || f.name}: ${ctx.num(f.contribution ?? f.value)}`)))) : null,
    ctx.h("p", {}, `Open pipeline: ${Object.entries(a.pipeline_value).map(([c, v]) => `${v} ${c}`).join(", ") || "none"}`),
    ctx.h("p", {}, `Contacts: ${a.contacts.map((c) => [c.first_name, c.last_name].filter(Boolean).join(" ")).join(", ") || "none"}`),
    ctx.h("p", {}, `Sentiment (days with mentions): ${Array.isArray(trend) ? trend.length : 0}`),
    ctx.h("h4", {}, accountIntent ? `LinkedIn intent ${ctx.num(accountIntent.score, 0)} (${accountIntent.prospects_tracked} people tracked)` : "LinkedIn intent"),
    intent.length ? ctx.h("ul", { "data-testid": "account-intent" }, intent.map((p) => ctx.h("li", {},
      ctx.h("strong", {}, `${ctx.num(p.score, 0)}`), ` ${p.name || "–"}${p.headline ? ` (${p.headline})` : ""}: `,
      ctx.h("span", { class: "meta" }, (p.top_signals || []).map((s) => s.label).join(" · ") || "no recent activity")))) : ctx.empty("No LinkedIn prospect matched to this account."),
    ctx.h("h4", {}, "Timeline"),
    a.timeline.items.length ? ctx.h("ul", {}, a.timeline.items.map((t) => ctx.h("li", {},
      ctx.h("span", { class: "meta" }, ctx.when(t.occurred_at)), ` ${t.type}: ${t.subject || t.body || ""}`))) : ctx.empty("No activities."),
  ].filter(Boolean)); // replaceChildren would write a null as the text "null"
}

export async function refresh() {
  const page = await ctx.api("/v1/crm/accounts?limit=50");
  list.replaceChildren(page.items.length ? ctx.h("ul", {}, page.items.map((a) => ctx.h("li", {},
    ctx.h("button", { type: "button", class: "link", onclick: () => open(a.id).catch((e) => detail.replaceChildren(ctx.h("p", { class: "alert" }, e.message))) }, a.name),
    ctx.h("span", { class: "meta" }, ` ${a.cui || ""} ${a.compliance_status || ""}`)))) : ctx.empty("No accounts yet."));
}

export async function mount(c, body) {
  ctx = c;
  list = ctx.h("div", { id: "account-list" });
  detail = ctx.h("div", { class: "card", id: "account-detail" }, ctx.empty("Choose an account."));
  body.append(ctx.h("div", { class: "grid" }, ctx.h("div", { class: "card" }, list), detail));
  ctx.on("crm.churn.scored", (e) => factors.set(e.payload.account_id, e.payload.top_factors || []));
  await refresh();
}
