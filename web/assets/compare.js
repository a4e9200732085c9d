// The live comparison: the same request to both designs, side by side; fault controls for the
// source services; a burst of repeated requests with running percentiles; the latest report.

import { DESIGNS, age, callApi, duration, el, showError } from "/assets/common.js";

const $ = (selector) => document.querySelector(selector);
const form = $("#compare-form");
const PANELS = { "order-history": "#answer-history", composer: "#answer-composer" };
/**
 * Fields only the event log can fill, and per-answer flags: not compared. The documented
 * equality's list, `NOT_COMPARED` in order-view/src/equality.rs; a test of web checks they agree.
 */
const NOT_COMPARED = ["timeline", "as_of", "stale", "degraded"];
const FAULTS = {
  slow: { delay_ms: 800, error_rate: 0 },
  fail: { delay_ms: 0, error_rate: 1 },
  heal: { delay_ms: 0, error_rate: 0 },
};

// ---- the request ----------------------------------------------------------------------------

function mode() {
  return form.elements.mode.value;
}

function showModeFields() {
  $("#order-fields").hidden = mode() !== "order";
  $("#search-fields").hidden = mode() !== "search";
}

/** The API path both designs are asked, or an error message when the form is incomplete. */
function requestPath() {
  if (mode() === "order") {
    const id = form.elements.order.value.trim();
    if (!id) return { error: "type an order id" };
    return { path: `orders/${encodeURIComponent(id)}`, url: new URLSearchParams({ order: id }) };
  }
  const customer = form.elements.customer.value.trim();
  const q = form.elements.q.value.trim();
  if (!customer) return { error: "type a customer id: composer can only search one customer's orders" };
  const query = new URLSearchParams({ customer_id: customer });
  if (q) query.set("q", q);
  const url = new URLSearchParams({ customer });
  if (q) url.set("q", q);
  return { path: `orders?${query}`, url };
}

function fillFromUrl() {
  const params = new URLSearchParams(window.location.search);
  if (params.has("customer")) {
    form.elements.mode.value = "search";
    form.elements.customer.value = params.get("customer");
    form.elements.q.value = params.get("q") || "";
  } else {
    form.elements.mode.value = "order";
    form.elements.order.value = params.get("order") || "";
  }
  showModeFields();
  return params.has("customer") || params.has("order");
}

async function compare() {
  const request = requestPath();
  showError($("#compare-error"), request.error || "");
  if (request.error) return;
  history.replaceState(null, "", `?${request.url}`);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  $("#verdict").textContent = "Asking both designs…";
  // both at once, so that neither waits on the other
  const answers = await Promise.all(DESIGNS.map((design) => callApi(`/api/${design}/${request.path}`)));
  button.disabled = false;
  const [history_, composer] = answers;
  renderAnswer("order-history", history_, composer);
  renderAnswer("composer", composer, history_);
  renderVerdict(history_, composer, mode());
  refreshBreakers();
}

// ---- one design's answer --------------------------------------------------------------------

function renderAnswer(design, answer, other) {
  const panel = $(PANELS[design]);
  const body = answer.body || {};
  const facts = [
    ["HTTP status", "status", String(answer.status || "no answer")],
    ["Latency (the design's own)", "latency", duration(answer.upstreamMs ?? answer.ms)],
    ["Round trip from this browser", "round-trip", duration(answer.ms)],
    ["Calls to the source services", "downstream-calls",
      design === "composer" ? (answer.headers && answer.headers.get("x-downstream-calls")) || "–" : "0"],
    ["Degraded parts", "degraded", degraded(body, answer)],
    ["Freshness", "staleness", design === "composer" ? "fresh (read at request time)" : staleness(answer, other)],
  ];
  if (design === "composer" && answer.headers && answer.headers.get("x-orders-scanned")) {
    const truncated = answer.headers.get("x-scan-truncated") === "true" ? " (scan cut short: results may be missing)" : "";
    facts.push(["Orders listed from order-svc", "orders-scanned", `${answer.headers.get("x-orders-scanned")}${truncated}`]);
  }
  if (!answer.ok) facts.push(["Error", "error", answer.error]);
  panel.querySelector(".answer-facts").replaceChildren(...facts.flatMap(([label, field, value]) => [
    el("dt", {}, label),
    el("dd", { "data-field": field, class: field === "degraded" && value !== "none" ? "warn-text" : null }, value),
  ]));
  panel.dataset.ok = String(answer.ok);
  panel.querySelector("pre.json").textContent = answer.body ? JSON.stringify(answer.body, null, 2) : answer.error || "";
}

function degraded(body, answer) {
  if (!answer.ok) return "–";
  const parts = [...(body.degraded || [])];
  if (body.stale) parts.push("stale: the requested version was not reached in time");
  return parts.length ? parts.join(", ") : "none";
}

/**
 * How far order-history's answer is behind the sources: composer's answer, read from the
 * sources just now, says which version of each aggregate is current. For one order, counts the
 * aggregates the view has not caught up with; for a search, the orders.
 */
function staleness(answer, composer) {
  if (!answer.ok) return "–";
  const body = answer.body;
  if (body.order_id) {
    const lastEvent = body.as_of ? `last event applied ${age(body.as_of.occurred_at)}` : "no event applied yet";
    if (!composer.ok) return lastEvent;
    const behind = behindOn(body, composer.body);
    return behind.count === 0 ? `current · ${lastEvent}`
      : `behind on ${behind.count} of ${behind.total} parts · ${lastEvent}`;
  }
  const newest = (body.hits || []).map((hit) => hit.document.as_of && Date.parse(hit.document.as_of.occurred_at))
    .filter(Boolean).sort((a, b) => b - a)[0];
  const lastEvent = newest ? `newest event applied ${age(new Date(newest).toISOString())}` : "no events";
  if (!composer.ok) return lastEvent;
  const views = new Map((body.hits || []).map((hit) => [hit.document.order_id, hit.document]));
  const behindOrders = (composer.body.hits || [])
    .filter((hit) => { const view = views.get(hit.document.order_id); return !view || behindOn(view, hit.document).count > 0; })
    .length;
  return behindOrders === 0 ? `current · ${lastEvent}` : `behind on ${behindOrders} orders · ${lastEvent}`;
}

/** The aggregates (order, payments, shipments) whose version in `view` is below `source`'s. */
function behindOn(view, source) {
  const parts = [[view.order_version, source.order_version]];
  const versions = (list, key) => new Map((list || []).map((part) => [part[key], part.version]));
  for (const [list, key] of [["payments", "payment_id"], ["shipments", "shipment_id"]]) {
    const seen = versions(view[list], key);
    for (const [id, version] of versions(source[list], key)) parts.push([seen.get(id), version]);
  }
  const known = parts.filter(([, current]) => current !== undefined && current !== null);
  return { total: known.length, count: known.filter(([seen, current]) => !(seen >= current)).length };
}

// ---- do they agree? -------------------------------------------------------------------------

function renderVerdict(history_, composer, requestMode) {
  const verdict = $("#verdict");
  const differences = [];
  if (history_.status !== composer.status) {
    differences.push(`HTTP status: order-history ${history_.status || "no answer"}, composer ${composer.status || "no answer"}`);
  } else if (history_.ok && composer.ok) {
    if (requestMode === "order") {
      diff(comparable(history_.body), comparable(composer.body), "", differences);
    } else {
      diffSearch(history_.body, composer.body, differences);
    }
  }
  // the same refusal (e.g. 404 for an unknown order) agrees, whatever words each design uses
  const agree = differences.length === 0;
  verdict.dataset.agree = String(agree);
  verdict.className = agree ? "agree" : "differ";
  verdict.textContent = agree
    ? "The answers agree (timeline and as_of exist only in order-history and are not compared)."
    : `The answers differ in ${differences.length} ${differences.length === 1 ? "field" : "fields"}:`;
  $("#differences").replaceChildren(...differences.map((difference) => el("li", {}, el("code", {}, difference))));
}

function comparable(document) {
  const copy = { ...document };
  for (const name of NOT_COMPARED) delete copy[name];
  return copy;
}

function diffSearch(history_, composer, differences) {
  if (history_.total !== composer.total) differences.push(`total: ${history_.total} ≠ ${composer.total}`);
  diff(history_.facets, composer.facets, "facets", differences);
  const theirs = new Map(composer.hits.map((hit) => [hit.document.order_id, hit.document]));
  for (const hit of history_.hits) {
    const id = hit.document.order_id;
    if (!theirs.has(id)) {
      differences.push(`hits: ${id} only in order-history's page`);
    } else {
      diff(comparable(hit.document), comparable(theirs.get(id)), `hits[${id.slice(0, 8)}]`, differences);
      theirs.delete(id);
    }
  }
  for (const id of theirs.keys()) differences.push(`hits: ${id} only in composer's page`);
}

/** Appends the JSON paths where `a` and `b` differ, with both values. */
function diff(a, b, path, differences) {
  if (differences.length >= 50) return;
  const isObject = (value) => value !== null && typeof value === "object";
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      diff(a[key], b[key], Array.isArray(a) ? `${path}[${key}]` : path ? `${path}.${key}` : key, differences);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    differences.push(`${path}: ${short(a)} ≠ ${short(b)}`);
  }
}

function short(value) {
  const text = value === undefined ? "absent" : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

// ---- fault controls -------------------------------------------------------------------------

async function loadFaultControls() {
  const controls = await callApi("/api/faults");
  const groups = $("#faults .fault-groups");
  if (!controls.ok) {
    showNotice(controls.error);
    return;
  }
  if (!controls.body.enabled) showNotice(controls.body.reason);
  groups.replaceChildren(...controls.body.services.map((service) => el("div", { class: "fault-group", "data-service": service },
    el("h3", {}, service),
    el("p", { "data-field": "fault-state" }, "…"),
    el("div", { class: "fault-buttons" },
      ...Object.keys(FAULTS).map((kind) => el("button", {
        type: "button", class: kind === "heal" ? "secondary" : kind, disabled: !controls.body.enabled,
        onclick: () => setFault(service, FAULTS[kind]),
      }, `${kind[0].toUpperCase()}${kind.slice(1)} ${service}`))))));
  $("#heal-all").disabled = !controls.body.enabled;
  if (controls.body.enabled) {
    await Promise.all(controls.body.services.map(async (service) => showFaultState(service, await callApi(`/api/faults/${service}`))));
  }
}

function showNotice(message) {
  const notice = $("#faults-off");
  notice.hidden = false;
  notice.textContent = message;
}

async function setFault(service, settings) {
  const answer = await callApi(`/api/faults/${service}`, { method: "PUT", body: settings });
  showFaultState(service, answer);
}

function showFaultState(service, answer) {
  const state = document.querySelector(`[data-service="${service}"] [data-field="fault-state"]`);
  if (!state) return;
  if (!answer.ok) {
    state.textContent = `unknown: ${answer.error}`;
    state.className = "warn-text";
    return;
  }
  const { delay_ms: delay, error_rate: rate } = answer.body;
  const words = [];
  if (delay > 0) words.push(`slow ${delay} ms`);
  if (rate > 0) words.push(`failing ${Math.round(rate * 100)}%`);
  state.textContent = words.length ? words.join(", ") : "healthy";
  state.className = words.length ? "warn-text" : "ok-text";
}

async function refreshBreakers() {
  const answer = await callApi("/api/breakers");
  $("#breakers").textContent = answer.ok
    ? `composer's circuit breakers: ${Object.entries(answer.body).map(([name, state]) => `${name} ${state}`).join(", ")}`
    : "";
}

// ---- repeated requests ----------------------------------------------------------------------

const CHART = { width: 640, height: 260, left: 56, right: 12, top: 14, bottom: 34 };
const COLORS = { "order-history": "#1f6f43", composer: "#a3341f" };

async function runBurst() {
  const request = requestPath();
  const section = $("#burst");
  showError($("#burst-error"), request.error || "");
  if (request.error) return;
  const count = Math.min(1000, Math.max(1, Number($("#burst-count").value) || 50));
  const button = $("#run-burst");
  button.disabled = true;
  section.dataset.state = "running";
  const series = Object.fromEntries(DESIGNS.map((design) => [design, { latencies: [], errors: 0, points: [] }]));
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; drawBurst(series, count); });
  };
  // each design gets its own sequential loop, and both loops run at once
  await Promise.all(DESIGNS.map(async (design) => {
    const own = series[design];
    for (let i = 0; i < count; i += 1) {
      const answer = await callApi(`/api/${design}/${request.path}`);
      if (answer.ok) {
        insertSorted(own.latencies, answer.upstreamMs ?? answer.ms);
        own.points.push([own.latencies.length + own.errors, percentile(own.latencies, 50), percentile(own.latencies, 99)]);
      } else {
        own.errors += 1;
      }
      redraw();
    }
  }));
  drawBurst(series, count);
  button.disabled = false;
  section.dataset.state = "done";
}

function insertSorted(values, value) {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (values[middle] < value) low = middle + 1; else high = middle;
  }
  values.splice(low, 0, value);
}

/** The nearest-rank percentile of sorted `values`. */
function percentile(values, p) {
  if (!values.length) return null;
  return values[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];
}

function drawBurst(series, count) {
  for (const design of DESIGNS) {
    const own = series[design];
    const row = document.querySelector(`#burst-stats tr[data-design="${design}"]`);
    row.querySelector('[data-field="count"]').textContent = String(own.latencies.length);
    row.querySelector('[data-field="errors"]').textContent = String(own.errors);
    row.querySelector('[data-field="p50"]').textContent = duration(percentile(own.latencies, 50));
    row.querySelector('[data-field="p99"]').textContent = duration(percentile(own.latencies, 99));
  }
  const svg = $("#burst-chart");
  const title = svg.querySelector("title");
  const all = DESIGNS.flatMap((design) => series[design].points.flatMap(([, p50, p99]) => [p50, p99]));
  const maxMs = niceCeiling(Math.max(1, ...all));
  const x = (n) => CHART.left + ((n - 1) / Math.max(1, count - 1)) * (CHART.width - CHART.left - CHART.right);
  const y = (ms) => CHART.top + (1 - ms / maxMs) * (CHART.height - CHART.top - CHART.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((share) => el("g", {},
    el("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y(share * maxMs), y2: y(share * maxMs), class: "grid" }),
    el("text", { x: CHART.left - 6, y: y(share * maxMs) + 4, "text-anchor": "end", class: "axis" }, duration(share * maxMs))));
  const lines = DESIGNS.flatMap((design) => ["p50", "p99"].map((name, index) => {
    const points = series[design].points.map((point) => `${x(point[0]).toFixed(1)},${y(point[index + 1]).toFixed(1)}`);
    return el("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[design], "stroke-width": 2,
      "stroke-dasharray": name === "p99" ? "6 4" : null, class: `line ${design}-${name}` });
  }));
  const legend = DESIGNS.flatMap((design, index) => ["p50", "p99"].map((name, offset) => {
    const left = CHART.left + (index * 2 + offset) * 140;
    return el("g", {},
      el("line", { x1: left, x2: left + 24, y1: CHART.height - 10, y2: CHART.height - 10, stroke: COLORS[design],
        "stroke-width": 2, "stroke-dasharray": name === "p99" ? "6 4" : null }),
      el("text", { x: left + 30, y: CHART.height - 6, class: "axis" }, `${design} ${name}`));
  }));
  svg.replaceChildren(title, ...grid, ...lines, ...legend);
}

function niceCeiling(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

// ---- the latest report ----------------------------------------------------------------------

const KIND_NAMES = {
  "GET /orders/{id}": "GET by id",
  "GET /orders?customer_id&q": "customer search",
  "GET /orders?q": "global search",
};

function formatRate(rps) {
  return `${Math.round(rps).toLocaleString("en")}/s`;
}

function capacityCell(row) {
  if (!row) return "not measured";
  if (row.not_servable) return `cannot serve (${row.not_servable})`;
  if (row.bound === "ceiling") return `≥ ${formatRate(row.rps)}`;
  if (row.bound === "below_start") return `below ${formatRate(row.failed_at_rps ?? 0)}`;
  return formatRate(row.rps);
}

/** The capacity table: one row per request kind, the two designs and their ratio. */
function capacityTable(capacity) {
  const kinds = [...new Set(capacity.map((row) => row.kind))];
  const find = (design, kind) => capacity.find((row) => row.design === design && row.kind === kind);
  const slo = capacity[0].slo_ms;
  const rows = kinds.map((kind) => {
    const cqrs = find("order-history", kind);
    const composition = find("composer", kind);
    const carried = (row) => row && !row.not_servable && row.rps > 0;
    let ratio = "n/a";
    if (carried(cqrs) && carried(composition)) ratio = `${(cqrs.rps / composition.rps).toFixed(1)}×`;
    else if (carried(cqrs) && composition?.not_servable) ratio = "only CQRS serves it";
    return el("tr", { "data-kind": kind },
      el("th", { scope: "row" }, KIND_NAMES[kind] ?? kind),
      el("td", { "data-design": "order-history" }, capacityCell(cqrs)),
      el("td", { "data-design": "composer" }, capacityCell(composition)),
      el("td", { "data-field": "ratio" }, ratio));
  });
  return el("div", { class: "table-wrap" },
    el("table", { id: "report-capacity" },
      el("caption", {}, `Capacity: the highest rate with p99 within ${slo} ms and under 1% errors`),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "request"),
        el("th", { scope: "col" }, "order-history (CQRS)"),
        el("th", { scope: "col" }, "composer (API Composition)"),
        el("th", { scope: "col" }, "CQRS ÷ composition"))),
      el("tbody", {}, ...rows)));
}

/** The verdicts that name a winner, and how many found no measurable difference. */
function verdictList(verdicts, runs) {
  const decided = verdicts.filter((verdict) => verdict.winner !== "none" && !verdict.invalid);
  const undecided = verdicts.length - decided.length;
  const items = decided.map((verdict) => el("li", { "data-winner": verdict.winner },
    `${verdict.question}, ${verdict.figure}: ${verdict.winner} (ratio ${verdict.ratio.toFixed(2)}, ` +
    `95% CI ${verdict.ci_low.toFixed(2)}–${verdict.ci_high.toFixed(2)})`));
  return el("div", { id: "report-verdicts" },
    el("h3", {}, "Verdicts"),
    el("p", {}, `Each compared step was measured ${runs} time${runs === 1 ? "" : "s"}. ` +
      `${decided.length} comparison${decided.length === 1 ? "" : "s"} named a winner; ` +
      `${undecided} found no measurable difference or were not valid.`),
    items.length ? el("ul", {}, ...items) : el("p", {}, "No comparison named a winner."));
}

function standingCostTable(standing) {
  return el("div", { class: "table-wrap" },
    el("table", { id: "report-standing-cost" },
      el("caption", {}, "Standing cost: cores each process uses with no traffic"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "process"), el("th", { scope: "col" }, "cores"),
        el("th", { scope: "col" }, "charged to"))),
      el("tbody", {}, ...standing.map((process) => el("tr", {},
        el("th", { scope: "row" }, process.process),
        el("td", {}, process.cores.toFixed(3)),
        el("td", {}, process.design ?? "both (system of record)"))))));
}

async function loadReport() {
  const target = $("#report .report-body");
  const answer = await callApi("/api/report");
  if (!answer.ok) {
    target.replaceChildren(el("p", { class: "warn-text" }, `The report could not be read: ${answer.error}`));
    return;
  }
  const report = answer.body;
  if (report.problem) {
    target.replaceChildren(el("p", { class: "warn-text" }, report.problem));
    return;
  }
  if (!report.available) {
    target.replaceChildren(el("p", {}, "No report yet. ", el("code", {}, "compare"), " or ",
      el("code", {}, "stack demo"), ` writes one into ${report.report_dir}.`));
    return;
  }
  const parts = [el("p", {}, `Written ${new Date(report.written_at).toLocaleString()} in ${report.report_dir}.`)];
  if (report.capacity.length) parts.push(capacityTable(report.capacity));
  if (report.verdicts.length) parts.push(verdictList(report.verdicts, report.runs));
  if (report.standing_cost.length) parts.push(standingCostTable(report.standing_cost));
  parts.push(...report.charts.map((chart) => el("figure", {},
    el("img", { src: `/report/${encodeURIComponent(chart.file)}`, alt: chart.title, loading: "lazy" }),
    el("figcaption", {}, chart.title))));
  target.replaceChildren(...parts);
}

// ---- wiring ---------------------------------------------------------------------------------

form.addEventListener("change", (event) => { if (event.target.name === "mode") showModeFields(); });
form.addEventListener("submit", (event) => { event.preventDefault(); compare(); });
$("#heal-all").addEventListener("click", async () => {
  const groups = [...document.querySelectorAll("[data-service]")].map((group) => group.dataset.service);
  await Promise.all(groups.map((service) => setFault(service, FAULTS.heal)));
});
$("#run-burst").addEventListener("click", runBurst);

if (fillFromUrl()) compare();
loadFaultControls();
loadReport();
refreshBreakers();
