// The statistics page: revenue per day and the status mix of the last 1, 7 or 30 days, from
// order-history's rollups or composer's composition, asked again every few seconds so that
// orders written while the page is open show up.

import { age, callApi, dateTime, el, money, showError } from "/assets/common.js";

const $ = (selector) => document.querySelector(selector);
const form = $("#stats-form");
const REFRESH_MS = 5000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const PERIODS = ["1", "7", "30"];
const DESIGN_NAMES = { "order-history": "order-history (CQRS)", composer: "composer (API Composition)" };
/** Fill colours with a contrast of at least 3:1 against white (WCAG's bar for graphics). */
const PALETTE = ["#0b5cad", "#1f6f43", "#8a4b00", "#6b3fa0", "#a3341f", "#00616b"];
const STATUS_COLORS = { PLACED: "#1f6f43", CANCELLED: "#a3341f" };
const CHART = { width: 640, height: 200, left: 72, right: 12, top: 12, bottom: 34 };

/** Answers of requests older than the latest are dropped, so a slow answer never paints over a newer one. */
let requestNumber = 0;
/** Whether the latest request is still waiting for its answer; the timer does not pile up more. */
let inFlight = false;
let refreshes = 0;
let timer = null;

// ---- the request ----------------------------------------------------------------------------

function design() {
  return form.elements.design.value;
}

function days() {
  return Number(form.elements.days.value);
}

/**
 * The range of the last `count` UTC days, today included: from the start of the first day to the
 * end of the current hour, so an order placed a moment from now is inside it at the next refresh.
 */
function range(count, now = Date.now()) {
  const todayStart = Math.floor(now / DAY_MS) * DAY_MS;
  const from = new Date(todayStart - (count - 1) * DAY_MS);
  const to = new Date(Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS);
  return { from, to };
}

function fillFromUrl() {
  const params = new URLSearchParams(window.location.search);
  if (DESIGN_NAMES[params.get("design")]) form.elements.design.value = params.get("design");
  if (PERIODS.includes(params.get("days"))) form.elements.days.value = params.get("days");
}

async function refresh() {
  const chosenDesign = design();
  const { from, to } = range(days());
  const query = new URLSearchParams({
    from: from.toISOString(), to: to.toISOString(), granularity: "day", group_by: "status",
  });
  requestNumber += 1;
  const mine = requestNumber;
  const section = $("#stats-state");
  section.dataset.state = "loading";
  section.setAttribute("aria-busy", "true");
  inFlight = true;
  const answer = await callApi(`/api/${chosenDesign}/stats?${query}`);
  if (mine !== requestNumber) return;
  inFlight = false;
  section.removeAttribute("aria-busy");
  refreshes += 1;
  section.dataset.refreshes = String(refreshes);
  showError($("#stats-error"), answer.ok ? "" : `${chosenDesign}: ${answer.error}`);
  section.dataset.design = chosenDesign;
  if (!answer.ok) {
    section.dataset.state = "error";
    field("refreshed").textContent = `${new Date().toLocaleTimeString()} (failed)`;
    return;
  }
  render(chosenDesign, answer);
  section.dataset.state = "done";
}

/** Asks again every REFRESH_MS while "Refresh every 5 seconds" is on and the page is visible. */
function schedule() {
  clearTimeout(timer);
  timer = null;
  if (!form.elements.live.checked) return;
  timer = setTimeout(async () => {
    if (!document.hidden && !inFlight) await refresh();
    schedule();
  }, REFRESH_MS);
}

function restart() {
  const params = new URLSearchParams({ design: design(), days: String(days()) });
  history.replaceState(null, "", `?${params}`);
  refresh();
  schedule();
}

// ---- the numbers ----------------------------------------------------------------------------

/** `2026-01-07 23:00 UTC`: the range is in UTC days, so it is shown in UTC. */
const utc = (iso) => `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** `YYYY-MM-DD` of a UTC instant. */
const dayOf = (iso) => new Date(iso).toISOString().slice(0, 10);

function addRevenue(totals, revenue) {
  for (const { currency, amount_minor: amount } of revenue) totals.set(currency, (totals.get(currency) || 0) + amount);
}

/**
 * Sums the answer's buckets (one per day and status) two ways: per day, over the statuses, and
 * per status, over the days. Every day of the answered range is listed, those without orders as
 * zero.
 */
function summarize(body) {
  const perDay = new Map();
  const firstDay = Math.floor(Date.parse(body.from) / DAY_MS) * DAY_MS;
  for (let day = firstDay; day < Date.parse(body.to); day += DAY_MS) {
    perDay.set(dayOf(day), { orders: 0, revenue: new Map() });
  }
  const perStatus = new Map();
  const total = { orders: 0, revenue: new Map() };
  for (const bucket of body.buckets || []) {
    const day = dayOf(bucket.period);
    if (!perDay.has(day)) perDay.set(day, { orders: 0, revenue: new Map() });
    const dayTotals = perDay.get(day);
    dayTotals.orders += bucket.orders;
    addRevenue(dayTotals.revenue, bucket.revenue);
    if (!perStatus.has(bucket.key)) perStatus.set(bucket.key, { orders: 0, revenue: new Map() });
    const statusTotals = perStatus.get(bucket.key);
    statusTotals.orders += bucket.orders;
    addRevenue(statusTotals.revenue, bucket.revenue);
    total.orders += bucket.orders;
    addRevenue(total.revenue, bucket.revenue);
  }
  return {
    days: [...perDay.entries()].sort(([a], [b]) => a.localeCompare(b)),
    statuses: [...perStatus.entries()].sort(([a], [b]) => a.localeCompare(b)),
    currencies: [...total.revenue.keys()].sort(),
    total,
  };
}

const amount = (currency, minor) => money({ currency, amount_minor: minor });

function revenueText(revenue) {
  const parts = [...revenue.entries()].filter(([, minor]) => minor).sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, minor]) => amount(currency, minor));
  return parts.length ? parts.join(", ") : "none";
}

function field(name) {
  return document.querySelector(`#stats-state [data-field="${name}"]`);
}

// ---- rendering ------------------------------------------------------------------------------

function render(chosenDesign, answer) {
  const body = answer.body;
  const summary = summarize(body);
  renderState(chosenDesign, answer, summary);
  renderRevenue(summary);
  renderStatusMix(summary);
  renderTopProducts(body.top_products || []);
}

function renderState(chosenDesign, answer, summary) {
  const body = answer.body;
  field("design").textContent = DESIGN_NAMES[chosenDesign];
  field("range").textContent = `${utc(body.from)} to ${utc(body.to)} (by ${body.granularity})`;
  field("as-of").textContent = body.as_of ? `${dateTime(body.as_of)} (${age(body.as_of)})` : "no event applied yet";
  const stale = field("stale");
  stale.dataset.stale = String(Boolean(body.stale));
  if (chosenDesign === "composer") {
    stale.textContent = body.stale ? "incomplete: some orders could not be read (see coverage)"
      : "current: read from the source services just now";
  } else {
    stale.textContent = body.stale ? "stale: the statistics projection is behind the event topics"
      : "current: every event in the topics is in the numbers";
  }
  stale.className = body.stale ? "warn-text" : "ok-text";
  const coverage = field("coverage");
  coverage.replaceChildren(...coverageText(chosenDesign, body.coverage));
  coverage.dataset.complete = body.coverage ? String(body.coverage.complete) : "";
  coverage.className = body.coverage && !body.coverage.complete ? "warn-text" : "";
  const calls = body.downstream_calls ?? answer.headers?.get("x-downstream-calls");
  field("downstream-calls").textContent = chosenDesign === "composer" ? String(calls ?? "–")
    : "0 (answered from its own rollups)";
  field("refreshed").textContent = `${new Date().toLocaleTimeString()} (took ${Math.round(answer.ms)} ms)`;
  const text = `${summary.total.orders} ${summary.total.orders === 1 ? "order" : "orders"} placed in the period; ` +
    `revenue ${revenueText(summary.total.revenue)}.`;
  // rewritten only when it changes, so the live region speaks only of new numbers
  const line = $("#stats-summary");
  if (line.textContent !== text) line.textContent = text;
  line.dataset.orders = String(summary.total.orders);
}

function coverageText(chosenDesign, coverage) {
  if (chosenDesign !== "composer") return ["not applicable: the rollups hold every order the topics hold"];
  if (!coverage) return ["–"];
  const read = `${coverage.orders_read} orders of the range read, ${coverage.orders_listed} listed from order-svc ` +
    `in ${coverage.pages_listed} ${coverage.pages_listed === 1 ? "page" : "pages"}`;
  if (coverage.complete) return [`complete: ${read}`];
  return [
    el("strong", {}, "partial: the numbers below may undercount. "),
    `${read}. Missing: ${coverage.missing.length ? coverage.missing.join("; ") : "not said"}.`,
  ];
}

function renderRevenue(summary) {
  const table = $("#revenue-table");
  table.querySelector("thead").replaceChildren(el("tr", {},
    el("th", { scope: "col" }, "Day (UTC)"),
    el("th", { scope: "col" }, "Orders"),
    ...summary.currencies.map((currency) => el("th", { scope: "col" }, `Revenue ${currency}`))));
  const cells = (totals) => summary.currencies.map((currency) => {
    const minor = totals.revenue.get(currency) || 0;
    return el("td", { class: "number", "data-currency": currency, "data-amount-minor": minor }, amount(currency, minor));
  });
  table.querySelector("tbody").replaceChildren(...summary.days.map(([day, totals]) => el("tr", { "data-day": day },
    el("th", { scope: "row" }, day),
    el("td", { class: "number", "data-field": "orders" }, String(totals.orders)),
    ...cells(totals))));
  table.querySelector("tfoot").replaceChildren(el("tr", { class: "sum", "data-day": "total" },
    el("th", { scope: "row" }, "Total"),
    el("td", { class: "number", "data-field": "orders" }, String(summary.total.orders)),
    ...cells(summary.total)));

  const charts = $("#revenue-charts");
  if (!summary.currencies.length) {
    charts.replaceChildren(el("p", { class: "empty" }, "No captured revenue in this period."));
    return;
  }
  charts.replaceChildren(...summary.currencies.map((currency, index) =>
    revenueChart(currency, summary, PALETTE[index % PALETTE.length])));
}

/** Bars of one currency's revenue per day, with the numbers in the title the chart is named by. */
function revenueChart(currency, summary, color) {
  const values = summary.days.map(([day, totals]) => [day, totals.revenue.get(currency) || 0]);
  const maxMinor = niceCeiling(Math.max(1, ...values.map(([, minor]) => minor)));
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / values.length;
  const y = (minor) => CHART.top + (1 - minor / maxMinor) * plotHeight;
  const grid = [0, 0.5, 1].map((share) => el("g", {},
    el("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y(share * maxMinor), y2: y(share * maxMinor), class: "grid" }),
    el("text", { x: CHART.left - 6, y: y(share * maxMinor) + 4, "text-anchor": "end", class: "axis" },
      amount(currency, Math.round(share * maxMinor)))));
  // at most about eight day labels, so they never overlap
  const labelEvery = Math.ceil(values.length / 8);
  const bars = values.map(([day, minor], index) => {
    const x = CHART.left + index * slot + slot * 0.15;
    const width = Math.max(1, slot * 0.7);
    return el("g", { "data-day": day },
      el("rect", { x: x.toFixed(1), y: y(minor).toFixed(1), width: width.toFixed(1),
        height: Math.max(0, CHART.top + plotHeight - y(minor)).toFixed(1), fill: color },
      el("title", {}, `${day}: ${amount(currency, minor)}`)),
      index % labelEvery === 0
        ? el("text", { x: (x + width / 2).toFixed(1), y: CHART.height - 14, "text-anchor": "middle", class: "axis" }, day.slice(5))
        : null);
  });
  const described = values.filter(([, minor]) => minor).map(([day, minor]) => `${day} ${amount(currency, minor)}`);
  const titleId = `revenue-chart-${currency}-title`;
  const title = `Revenue per day in ${currency}, ${values[0][0]} to ${values[values.length - 1][0]}: ` +
    `${described.length ? described.join("; ") : "none"}; other days none.`;
  return el("figure", {},
    el("svg", { class: "stats-chart", role: "img", "aria-labelledby": titleId, "data-currency": currency,
      viewBox: `0 0 ${CHART.width} ${CHART.height}`, preserveAspectRatio: "xMidYMid meet" },
    el("title", { id: titleId }, title), ...grid, ...bars),
    el("figcaption", {}, `Revenue per day in ${currency}`));
}

function renderStatusMix(summary) {
  const total = summary.total.orders;
  const share = (orders) => (total ? `${Math.round((orders / total) * 100)}%` : "–");
  $("#status-table tbody").replaceChildren(...(summary.statuses.length
    ? summary.statuses.map(([status, totals]) => el("tr", { "data-status": status },
      el("th", { scope: "row" }, status),
      el("td", { class: "number", "data-field": "orders" }, String(totals.orders)),
      el("td", { class: "number", "data-field": "share" }, share(totals.orders)),
      el("td", { "data-field": "revenue" }, revenueText(totals.revenue))))
    : [el("tr", {}, el("td", { colspan: 4 }, "No orders placed in this period."))]));

  const wrap = $("#status-chart-wrap");
  if (!total) {
    wrap.replaceChildren();
    return;
  }
  // one bar split by status, each part as wide as its share of the orders
  const width = CHART.width - CHART.right;
  let left = 0;
  const parts = summary.statuses.map(([status, totals], index) => {
    const partWidth = (totals.orders / total) * width;
    const part = el("g", { "data-status": status },
      el("rect", { x: left.toFixed(1), y: 8, width: partWidth.toFixed(1), height: 36,
        fill: STATUS_COLORS[status] || PALETTE[index % PALETTE.length] },
      el("title", {}, `${status}: ${totals.orders} (${share(totals.orders)})`)));
    left += partWidth;
    return part;
  });
  const legend = summary.statuses.map(([status, totals], index) => {
    const x = index * 210;
    return el("g", {},
      el("rect", { x, y: 58, width: 14, height: 14, fill: STATUS_COLORS[status] || PALETTE[index % PALETTE.length] }),
      el("text", { x: x + 20, y: 70, class: "axis" }, `${status} ${totals.orders} (${share(totals.orders)})`));
  });
  const described = summary.statuses.map(([status, totals]) => `${status} ${totals.orders} (${share(totals.orders)})`);
  wrap.replaceChildren(el("figure", {},
    el("svg", { id: "status-chart", class: "stats-chart", role: "img", "aria-labelledby": "status-chart-title",
      viewBox: `0 0 ${CHART.width} 84`, preserveAspectRatio: "xMidYMid meet" },
    el("title", { id: "status-chart-title" }, `Status mix of ${total} orders: ${described.join("; ")}.`),
    ...parts, ...legend),
    el("figcaption", {}, "Share of the period's orders in each status")));
}

function renderTopProducts(products) {
  $("#top-products-empty").hidden = products.length > 0;
  $("#top-products-list").replaceChildren(...products.map((product) => el("li", { "data-sku": product.sku },
    el("code", {}, product.sku), ` ${product.quantity} ${product.quantity === 1 ? "unit" : "units"}`)));
}

function niceCeiling(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

// ---- wiring ---------------------------------------------------------------------------------

form.addEventListener("change", (event) => {
  if (event.target.name === "live") {
    schedule();
    return;
  }
  restart();
});
form.addEventListener("submit", (event) => { event.preventDefault(); restart(); });
$("#refresh-now").addEventListener("click", () => { refresh(); schedule(); });

fillFromUrl();
restart();
