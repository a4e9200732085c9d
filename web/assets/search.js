// The order-history search page. The URL holds the whole state (the query, the filters, the
// page's cursor and the open order), so a search can be shared, reloaded and navigated with the
// browser's back and forward buttons. The page only renders what order-history answers.

import { age, badge, callApi, dateTime, el, highlighted, money, showError } from "/assets/common.js";

const API = "/api/order-history/orders";

/** The filters with facet counts, and every value each can take. */
const FACETS = {
  status: ["PLACED", "CANCELLED"],
  payment_status: ["AUTHORIZED", "DECLINED", "CAPTURED", "REFUNDED"],
  shipment_status: ["CREATED", "DISPATCHED", "IN_TRANSIT", "DELIVERED", "RETURNED"],
};
const TEXT_FILTERS = ["q", "placed_from", "placed_to", "min_total", "max_total", "sort"];
/** Highlighted fields, by the API's name, as people call them. */
const FIELD_NAMES = {
  customer_name: "Customer",
  customer_email: "Email",
  item_names: "Items",
  skus: "SKU",
  addresses: "Address",
  tracking_numbers: "Tracking",
};

const $ = (selector) => document.querySelector(selector);
const form = $("#search-form");
let latest = 0; // answers of superseded searches are dropped

function stateFromUrl() {
  return new URLSearchParams(window.location.search);
}

function navigate(params, { replace = false } = {}) {
  const url = params.toString() ? `?${params}` : window.location.pathname;
  const page = (history.state && history.state.page) || 1;
  const state = { page: params.has("cursor") ? page : 1 };
  if (replace) history.replaceState(state, "", url); else history.pushState(state, "", url);
  render();
}

/** The search the form describes, as URL parameters (totals typed in major units). */
function paramsFromForm() {
  const params = new URLSearchParams();
  for (const name of TEXT_FILTERS) {
    const value = form.elements[name] ? form.elements[name].value.trim() : "";
    if (!value || (name === "sort" && value === "relevance")) continue;
    params.set(name, value);
  }
  for (const name of Object.keys(FACETS)) {
    const chosen = form.elements[name] && form.elements[name].value;
    if (chosen) params.set(name, chosen);
  }
  // the page size has no control of its own: a link can set it, and a new search keeps it
  const limit = stateFromUrl().get("limit");
  if (limit) params.set("limit", limit);
  return params;
}

function fillForm(params) {
  for (const name of TEXT_FILTERS) {
    if (form.elements[name]) form.elements[name].value = params.get(name) || (name === "sort" ? "relevance" : "");
  }
}

/** The API's query for the page's URL: dates as they are, totals converted to minor units. */
function apiQuery(params) {
  const query = new URLSearchParams();
  for (const [name, value] of params) {
    if (name === "order") continue;
    if (name === "min_total" || name === "max_total") {
      const amount = Number(value);
      query.set(name, Number.isFinite(amount) && value !== "" ? String(Math.round(amount * 100)) : value);
    } else {
      query.set(name, value);
    }
  }
  return query;
}

async function render() {
  const params = stateFromUrl();
  fillForm(params);
  if (params.has("order")) {
    await showOrder(params.get("order"));
  } else {
    $("#order-detail").hidden = true;
    await search(params);
  }
}

async function search(params) {
  const ticket = ++latest;
  for (const part of ["#results", "#empty", ".pagination", "#status-line"]) $(part).hidden = false;
  $("#empty").hidden = true;
  $("#loading").hidden = false;
  const answer = await callApi(`${API}?${apiQuery(params)}`);
  if (ticket !== latest) return;
  $("#loading").hidden = true;
  showError($("#error"), answer.ok ? "" : answer.error);
  const results = answer.ok ? answer.body : { total: 0, hits: [], facets: {}, next_cursor: null };
  renderFacets(params, results.facets || {}, answer.ok);
  renderHits(results, params, answer.ok);
  document.title = params.get("q") ? `“${params.get("q")}” – Order history` : "Order history";
}

function renderFacets(params, facets, ok) {
  for (const [name, values] of Object.entries(FACETS)) {
    const fieldset = $(`#facet-${name}`);
    const counts = facets[name] || {};
    const chosen = params.get(name) || "";
    const option = (value, text, count) => {
      const id = `${name}-${value || "any"}`;
      return el("div", { class: "facet-option" },
        el("input", { type: "radio", id, name, value, form: "search-form", checked: chosen === value,
                      onchange: () => navigate(paramsFromForm()) }),
        el("label", { for: id, "data-facet": value ? `${name}:${value}` : null },
          text, count === null ? null : el("span", { class: `count${count ? "" : " zero"}` }, String(count))));
    };
    const legend = fieldset.querySelector("legend");
    fieldset.replaceChildren(legend, option("", "Any", null),
      ...values.map((value) => option(value, value, ok ? (counts[value] || 0) : null)));
  }
}

function renderHits(results, params, ok) {
  const list = $("#results");
  list.replaceChildren(...results.hits.map(renderHit));
  const summary = $("#result-summary");
  summary.dataset.total = String(results.total);
  summary.textContent = ok ? `${results.total.toLocaleString()} ${results.total === 1 ? "order" : "orders"}` : "";
  $("#empty").hidden = !ok || results.hits.length > 0;

  const page = (history.state && history.state.page) || 1;
  // paging means nothing without results, or on the first and only page
  $(".pagination").hidden = !ok || (!params.has("cursor") && !results.next_cursor);
  $("#page-number").textContent = `Page ${page}`;
  const previous = $("#previous-page");
  previous.disabled = !params.has("cursor");
  previous.onclick = () => {
    if (history.state && history.state.page > 1) {
      history.back();
    } else {
      const first = new URLSearchParams(params);
      first.delete("cursor");
      navigate(first);
    }
  };
  const next = $("#next-page");
  next.disabled = !results.next_cursor;
  next.onclick = () => {
    const following = new URLSearchParams(params);
    following.set("cursor", results.next_cursor);
    history.pushState({ page: page + 1 }, "", `?${following}`);
    render();
    $("#main").focus();
  };
}

function renderHit(hit) {
  const order = hit.document;
  const open = new URLSearchParams(stateFromUrl());
  open.set("order", order.order_id);
  const link = el("a", { class: "result-link", href: `?${open}`,
    onclick: (event) => { event.preventDefault(); navigate(open); } },
  order.customer ? order.customer.name : "Order not yet known", " · ", shortId(order.order_id));
  const matches = Object.entries(hit.highlights || {}).map(([field, fragments]) =>
    el("li", {}, el("span", { class: "field" }, `${FIELD_NAMES[field] || field}: `),
      ...fragments.flatMap((fragment, index) => [index ? " … " : null, ...highlighted(fragment)])));
  return el("li", { class: "result", "data-order-id": order.order_id },
    el("div", { class: "result-head" }, el("h3", {}, link), el("span", { class: "total" }, money(order.total))),
    el("p", { class: "result-meta" },
      order.placed_at ? `Placed ${dateTime(order.placed_at)} · ` : "",
      `${order.items.length} ${order.items.length === 1 ? "item" : "items"}`, " ",
      order.status ? badge(order.status) : badge("INCOMPLETE", "warn"),
      ...order.payments.map((payment) => badge(payment.status, "payment")),
      ...order.shipments.map((shipment) => badge(shipment.status, "shipment"))),
    matches.length ? el("ul", { class: "matches", "aria-label": "Matches" }, matches) : null);
}

function shortId(id) {
  return `#${id.slice(0, 8)}…${id.slice(-4)}`;
}

async function showOrder(id) {
  const ticket = ++latest;
  for (const part of ["#results", "#empty", ".pagination", "#status-line"]) $(part).hidden = true;
  const detail = $("#order-detail");
  detail.hidden = true;
  const answer = await callApi(`${API}/${encodeURIComponent(id)}`);
  if (ticket !== latest) return;
  showError($("#error"), answer.ok ? "" : answer.error);
  if (!answer.ok) return;
  renderOrder(answer.body);
  detail.hidden = false;
  detail.focus();
}

function renderOrder(order) {
  $("#detail-title").textContent = `Order ${order.order_id}`;
  document.title = `Order ${shortId(order.order_id)} – Order history`;
  const freshness = $("#detail-freshness");
  freshness.replaceChildren(order.as_of
    ? `As of ${order.as_of.event_type} (a ${order.as_of.source} event) at ${dateTime(order.as_of.occurred_at)}, ${age(order.as_of.occurred_at)}.`
    : "As of: no event applied yet.");
  if (order.stale) freshness.append(" ", badge("STALE", "warn"));
  if (order.incomplete) freshness.append(" The order itself has not arrived yet; only its payments or shipments have.");

  const customer = order.customer;
  body("#detail-customer").replaceChildren(customer
    ? el("dl", {}, el("dt", {}, "Name"), el("dd", {}, customer.name), el("dt", {}, "Email"), el("dd", {}, customer.email),
      el("dt", {}, "Customer id"), el("dd", {}, customer.customer_id))
    : el("p", {}, "Not known yet."));

  const address = order.shipping_address;
  body("#detail-summary").replaceChildren(el("dl", {},
    el("dt", {}, "Status"), el("dd", {}, order.status ? badge(order.status) : "–"),
    el("dt", {}, "Placed"), el("dd", {}, dateTime(order.placed_at)),
    order.cancelled_at ? [el("dt", {}, "Cancelled"),
      el("dd", {}, `${dateTime(order.cancelled_at)}${order.cancellation_reason ? ` – ${order.cancellation_reason}` : ""}`)] : null,
    el("dt", {}, "Total"), el("dd", { class: "total" }, money(order.total)),
    el("dt", {}, "Ship to"), el("dd", {}, address ? formatAddress(address) : "–")));

  body("#detail-items").replaceChildren(table(["SKU", "Item", "Quantity", "Unit price", "Line total"],
    order.items.map((item) => el("tr", {},
      el("td", {}, item.sku), el("td", {}, item.name), el("td", { class: "number" }, String(item.quantity)),
      el("td", { class: "number" }, money(item.unit_price)),
      el("td", { class: "number" }, money({ ...item.unit_price, amount_minor: item.unit_price.amount_minor * item.quantity })))),
    el("tr", { class: "sum" }, el("td", { colspan: 4 }, "Total"), el("td", { class: "number" }, money(order.total)))));

  body("#detail-payments").replaceChildren(order.payments.length
    ? table(["Payment", "Status", "Method", "Amount", "Updated"], order.payments.map((payment) =>
      el("tr", { "data-payment-id": payment.payment_id },
        el("td", {}, shortId(payment.payment_id)),
        el("td", {}, badge(payment.status), payment.decline_reason ? ` ${payment.decline_reason}` : ""),
        el("td", {}, payment.method), el("td", { class: "number" }, money(payment.amount)),
        el("td", {}, dateTime(payment.updated_at)))))
    : el("p", {}, "No payments yet."));

  body("#detail-shipments").replaceChildren(order.shipments.length
    ? table(["Carrier", "Tracking number", "Status", "Last location", "Updated"], order.shipments.map((shipment) =>
      el("tr", { "data-shipment-id": shipment.shipment_id },
        el("td", {}, shipment.carrier), el("td", {}, el("code", {}, shipment.tracking_number)),
        el("td", {}, badge(shipment.status)), el("td", {}, shipment.last_location || "–"),
        el("td", {}, dateTime(shipment.updated_at)))))
    : el("p", {}, "No shipments yet."));

  $("#detail-timeline ol").replaceChildren(...order.timeline.map((entry) =>
    el("li", {},
      el("time", { datetime: entry.occurred_at }, dateTime(entry.occurred_at)), " ",
      el("span", { class: `source source-${entry.source}` }, entry.source), " ",
      el("strong", {}, entry.event_type),
      entry.detail ? ` – ${entry.detail}` : "")));
}

function body(section) {
  return $(`${section} .body`);
}

function table(headings, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headings.map((heading) => el("th", { scope: "col" }, heading)))),
    el("tbody", {}, ...rows.flat()));
}

function formatAddress(address) {
  return [address.line1, address.line2, `${address.postal_code} ${address.city}`, address.country]
    .filter(Boolean).join(", ");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  navigate(paramsFromForm());
});
$("#clear-filters").addEventListener("click", () => {
  const params = new URLSearchParams();
  const q = stateFromUrl().get("q");
  if (q) params.set("q", q);
  navigate(params);
});
$("#back-to-results").addEventListener("click", () => {
  const params = stateFromUrl();
  params.delete("order");
  navigate(params);
});
// on a narrow screen the filters start folded, so the results are the first thing seen
if (window.matchMedia("(max-width: 760px)").matches) $("#filters-panel").open = false;
window.addEventListener("popstate", render);
render();
