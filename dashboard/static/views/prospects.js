// Prospects: LinkedIn intent by score now, their CRM match (or the conflict to resolve), top signals, and who
// of ours they interact with.
let ctx, modelLine, listBox, detail;

function signals(list) {
  return (list || []).map((s) => `${s.label || s.kind}${s.user ? ` (${s.user})` : ""}`).join(" · ") || "–";
}

function matchBadge(p) {
  const cls = { matched: "low", confirmed: "low", conflict: "high", unmatched: "" }[p.match_status] || "";
  return ctx.h("span", { class: `badge ${cls}` }, p.match_status);
}

async function open(id) {
  detail.replaceChildren(ctx.h("p", { class: "meta" }, "loading…"));
  const p = await ctx.api(`/v1/insights/prospects/${encodeURIComponent(id)}`);
  detail.replaceChildren(...[
    ctx.h("h3", { "data-testid": "prospect-name" }, p.name || p.email || p.profile_url || "prospect"),
    ctx.h("p", {}, matchBadge(p), " ", `${p.company || ""} ${p.headline ? `· ${p.headline}` : ""}`,
      p.match_basis ? ctx.h("span", { class: "meta" }, ` matched by ${p.match_basis} (${ctx.num(p.match_confidence)})`) : null),
    ctx.h("p", {}, ctx.h("strong", {}, `intent ${ctx.num(p.score, 0)}`), ctx.h("span", { class: "meta" }, ` (${p.model.source} weights)`)),
    p.match_status === "conflict" ? ctx.h("div", {}, ctx.h("h4", {}, "Which record is this? (resolve with POST …/match, crm:admin)"),
      ctx.h("ul", {}, (p.candidates || []).map((c) => ctx.h("li", {}, `${c.kind} ${c.name || ""} at ${c.company || "?"}: ${c.basis} (${c.id})`)))) : null,
    ctx.h("h4", {}, "Top signals now"),
    ctx.h("ul", {}, p.top_signals.map((s) => ctx.h("li", {}, `${s.label}${s.user ? ` with ${s.user}` : ""}, ${ctx.when(s.at)} (+${ctx.num(s.points)})`))),
    ctx.h("h4", {}, "Relationships"),
    p.relationships.length ? ctx.h("ul", {}, p.relationships.map((r) => ctx.h("li", {},
      `${r.user}: strength ${ctx.num(r.strength)}, ${r.interactions} interactions, ${r.trend}`))) : ctx.empty("No interaction with one of our users."),
    ctx.h("h4", {}, "Activity"),
    ctx.h("ul", {}, p.activities.slice(0, 30).map((a) => ctx.h("li", {}, ctx.h("span", { class: "meta" }, ctx.when(a.occurred_at)), ` ${a.label}`))),
  ].filter(Boolean));
}

export async function refresh() {
  const page = await ctx.api("/v1/insights/prospects?limit=100");
  modelLine.textContent = `Intent weights: ${page.model.reason}. A prospect reaching ${page.threshold}, or rising sharply, `
    + "is published to sales (crm.linkedin.prospect.scored).";
  const rows = page.prospects;
  listBox.replaceChildren(rows.length ? ctx.h("div", { class: "scroll" }, ctx.h("table", { "data-testid": "prospects" },
    ctx.h("thead", {}, ctx.h("tr", {}, ["prospect", "company", "intent", "", "match", "top signals", "last seen"].map((t) => ctx.h("th", { scope: "col" }, t)))),
    ctx.h("tbody", {}, rows.map((p) => ctx.h("tr", {},
      ctx.h("th", { scope: "row" }, ctx.h("button", { type: "button", class: "link",
        onclick: () => open(p.id).catch((e) => detail.replaceChildren(ctx.h("p", { class: "alert" }, e.message))) }, p.name || p.email || "–")),
      ctx.h("td", {}, p.company || "–"),
      ctx.h("td", {}, ctx.num(p.score, 0)),
      ctx.h("td", {}, ctx.h("meter", { min: "0", max: "100", high: String(page.threshold), value: String(p.score), title: `${ctx.num(p.score, 0)} of 100` })),
      ctx.h("td", {}, matchBadge(p)),
      ctx.h("td", { class: "meta" }, signals(p.top_signals)),
      ctx.h("td", {}, ctx.when(p.last_seen))))))) : ctx.empty("No LinkedIn activity yet: send social.linkedin.signal events."));
}

export async function mount(c, body) {
  ctx = c;
  modelLine = ctx.h("p", { class: "meta", id: "intent-model" });
  listBox = ctx.h("div", { id: "prospect-list", "aria-live": "polite" });
  detail = ctx.h("div", { class: "card", id: "prospect-detail" }, ctx.empty("Choose a prospect."));
  body.append(ctx.h("div", { class: "card" }, ctx.h("h3", {}, "Prospects by intent"), modelLine, listBox), detail);
  ctx.on("crm.linkedin.prospect.scored", () => refresh().catch(() => {}));
  await refresh();
}
