// What both pages share: calling the pages' API, building elements, and formatting.

/** The two designs, as the pages' API names them. */
export const DESIGNS = ["order-history", "composer"];

/**
 * GETs or PUTs `url` and reads the JSON answer. Never throws: a network failure or a body that
 * is not JSON comes back as `ok: false` with an `error` message to show.
 *
 * `ms` is the round trip seen by the browser; `upstreamMs` is the time the service itself took,
 * from the `Server-Timing` header the pages' API adds.
 */
export async function callApi(url, options = {}) {
  const started = performance.now();
  let response;
  try {
    response = await fetch(url, {
      method: options.method || "GET",
      headers: options.body === undefined ? {} : { "content-type": "application/json" },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (failure) {
    return { ok: false, status: 0, error: `the request failed: ${failure.message}`, ms: performance.now() - started };
  }
  let body = null;
  let error = null;
  const text = await response.text();
  const ms = performance.now() - started;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    error = `the answer was not JSON (HTTP ${response.status})`;
  }
  if (!response.ok && !error) {
    error = body && typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
  }
  return {
    ok: response.ok && !error,
    status: response.status,
    body,
    error,
    ms,
    upstreamMs: serverTiming(response.headers.get("server-timing")),
    headers: response.headers,
  };
}

function serverTiming(header) {
  const match = /dur=([0-9.]+)/.exec(header || "");
  return match ? Number(match[1]) : null;
}

/** `el("p", {class: "x"}, "text", child)`: an element with attributes and children. */
export function el(tag, attributes = {}, ...children) {
  const svg = ["svg", "g", "path", "line", "text", "rect", "circle", "polyline", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** 4599 EUR → "€45.99". Amounts are in minor units; every currency here has two decimals. */
export function money(amount) {
  if (!amount) return "–";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: amount.currency })
      .format(amount.amount_minor / 100);
  } catch {
    return `${(amount.amount_minor / 100).toFixed(2)} ${amount.currency}`;
  }
}

export function dateTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** 1234.5 → "1.2 s", 12.34 → "12.3 ms". */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms.toFixed(1)} ms`;
}

/** How long ago `iso` was, e.g. "3.2 s ago". */
export function age(iso) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  return `${duration(Math.max(0, Date.now() - then))} ago`;
}

/**
 * A highlight fragment from the search API: the field's text, HTML-escaped by the API, with
 * matches in `<em>`…`</em>`. Turned into text nodes and `<mark>`s, so nothing in the text can
 * become markup.
 */
export function highlighted(fragment) {
  const nodes = [];
  const parts = fragment.split(/(<em>|<\/em>)/);
  let inMatch = false;
  for (const part of parts) {
    if (part === "<em>") { inMatch = true; continue; }
    if (part === "</em>") { inMatch = false; continue; }
    if (!part) continue;
    const text = decodeEntities(part);
    nodes.push(inMatch ? el("mark", {}, text) : document.createTextNode(text));
  }
  return nodes;
}

function decodeEntities(text) {
  // a <textarea> never parses its content as markup, so this decodes entities only
  const decoder = document.createElement("textarea");
  decoder.innerHTML = text;
  return decoder.value;
}

/** Shows `message` in the alert box `box`, or hides it when `message` is empty. */
export function showError(box, message) {
  box.replaceChildren();
  box.hidden = !message;
  if (message) box.append(el("strong", {}, "Something went wrong: "), message);
}

/** A status word like PAYMENT_CAPTURED or IN_TRANSIT as a small badge. */
export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind} badge-${String(text).toLowerCase()}` }, String(text).replaceAll("_", " "));
}
