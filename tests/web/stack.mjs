// The browser tests' harness: starts the whole local stack (`stack up --no-build`, debug
// binaries) on free 127.0.0.1 ports, writes orders, payments and shipments through the source
// services' own APIs, waits until order-history has indexed them, and launches Debian's Chromium
// through playwright-core. tests/api_fuzz/conftest.py does the same in Python.

import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TARGET = join(process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target'), 'debug');
/**
 * order-history's search engine: `tantivy` (embedded, the local profile's) or `elasticsearch`
 * (the compose profile's API, served by the noida-db emulator that `.ci/run` installs).
 */
export const BACKEND = process.env.WEB_E2E_BACKEND || 'tantivy';
if (!['tantivy', 'elasticsearch'].includes(BACKEND)) {
  throw new Error(`WEB_E2E_BACKEND must be tantivy or elasticsearch, not ${BACKEND}`);
}
export const OUTPUT = join(ROOT, 'tests', 'web', 'output', BACKEND === 'tantivy' ? '' : BACKEND);

const LISTEN_ENV = {
  'order-svc': 'STACK_ORDER_SVC_LISTEN',
  'payment-svc': 'STACK_PAYMENT_SVC_LISTEN',
  'shipping-svc': 'STACK_SHIPPING_SVC_LISTEN',
  'order-history': 'STACK_ORDER_HISTORY_LISTEN',
  composer: 'STACK_COMPOSER_LISTEN',
  web: 'STACK_WEB_LISTEN',
};
// the local profile's public dev credentials (platform::auth::dev), which `stack up` uses
export const WRITE_TOKEN = 'local-dev-write-token';
export const ADMIN_TOKEN = 'local-dev-admin-token';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const INDEX_TIMEOUT_MS = 20_000;

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** A port nobody listens on right now, on 127.0.0.1. */
export function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

async function ready(url) {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The end of a log; with its start too when it is long (an error's first line, then its backtrace). */
function tail(path, chars = 4000) {
  try {
    const text = readFileSync(path, 'utf8');
    if (text.length <= chars * 1.5) return text;
    return `${text.slice(0, chars / 2)}\n[…]\n${text.slice(-chars)}`;
  } catch {
    return `(${path} is unreadable)`;
  }
}

/** The end of `stack up`'s own log and of every component's log under <data-dir>/logs. */
function logTails(dataDir) {
  let text = `--- stack up (${join(dataDir, 'stack.log')}) ---\n${tail(join(dataDir, 'stack.log'))}`;
  const logs = join(dataDir, 'logs');
  if (existsSync(logs)) {
    for (const name of readdirSync(logs).sort()) {
      text += `\n--- ${join(logs, name)} ---\n${tail(join(logs, name), 1500)}`;
    }
  }
  return text;
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child, ms) {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * A noida-db (Elasticsearch 8 API) on a free port with its data under `dataDir`, answering
 * before this returns. `NOIDA_DB_BIN` names the binary; otherwise `noida-db` on PATH.
 */
async function startSearchEngine(dataDir) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(dataDir, 'elasticsearch.log');
  const log = openSync(logPath, 'w');
  const child = spawn(process.env.NOIDA_DB_BIN || 'noida-db', [
    'start', '--data-dir', join(dataDir, 'elasticsearch'), '--host', '127.0.0.1',
    '--only', 'elasticsearch', '--elasticsearch-port', String(port),
  ], { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.once('error', () => {});
  const engine = { url, stop: () => signalGroup(child, 'SIGKILL') };
  try {
    await eventually('the search engine answers', async () => (await fetch(url)).ok, 60_000, 200);
  } catch (error) {
    engine.stop();
    throw new Error(`${error.message}\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
  }
  return engine;
}

/** The charts of the report the stack's pages are given (copies of the README's). */
export const REPORT_CHARTS = [
  { file: 'latency.svg', title: 'latency percentiles by scenario' },
  { file: 'coupling.svg', title: 'answered share with each source service down' },
];

/** The report.json the comparison page is given: what `compare` writes, cut down. */
export const REPORT_JSON = {
  runs: 3,
  charts: REPORT_CHARTS,
  capacity: [
    { design: 'order-history', kind: 'GET /orders/{id}', slo_ms: 100, rps: 4800, failed_at_rps: 5200, bound: 'slo', probes: [], not_servable: null },
    { design: 'composer', kind: 'GET /orders/{id}', slo_ms: 100, rps: 1200, failed_at_rps: 1300, bound: 'slo', probes: [], not_servable: null },
  ],
  verdicts: [
    { question: 'get 600/s', figure: 'p99_ms', ratio: 0.4, ci_low: 0.3, ci_high: 0.6, winner: 'order-history', invalid: null },
    { question: 'get 600/s', figure: 'p50_ms', ratio: 0.9, ci_low: 0.7, ci_high: 1.2, winner: 'none', invalid: null },
  ],
  standing_cost: [{ process: 'broker', cores: 0.012, design: 'order-history' }],
};

/**
 * Starts `stack up --no-build` on free ports with the dev credentials and waits until every
 * service answers /readyz with 200. `web: false` leaves the web listener out of the readiness
 * wait (for checking the harness before the web binary exists).
 */
export async function startStack({ web = true } = {}) {
  const stackBin = join(TARGET, 'stack');
  if (!existsSync(stackBin)) {
    throw new Error(`${stackBin} is missing: run \`cargo build --workspace --bins\` first`);
  }
  // `stack up` starts the binaries next to it, or those in STACK_BIN_DIR
  const binDir = process.env.STACK_BIN_DIR || TARGET;
  if (web && !existsSync(join(binDir, 'web'))) {
    throw new Error(`${join(binDir, 'web')} is missing: run \`cargo build --workspace --bins\` first`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'web-e2e-'));
  const env = { ...process.env };
  for (const name of ['WRITE_TOKEN', 'ADMIN_TOKEN', 'READ_TOKEN', 'JWT_ISSUER_KEY', 'JWT_ISSUER']) delete env[name];
  const engine = BACKEND === 'elasticsearch' ? await startSearchEngine(dataDir) : null;
  if (engine) env.STACK_ELASTICSEARCH_URL = engine.url;
  const urls = {};
  for (const [service, name] of Object.entries(LISTEN_ENV)) {
    const port = await freePort();
    env[name] = `127.0.0.1:${port}`;
    urls[service] = `http://127.0.0.1:${port}`;
  }
  // a report for the comparison page to show: the README's charts, listed in a report.json as
  // `compare` lists them, with its capacity table and a verdict
  const reportDir = join(dataDir, 'report');
  mkdirSync(reportDir, { recursive: true });
  for (const chart of REPORT_CHARTS) copyFileSync(join(ROOT, 'docs', 'images', chart.file), join(reportDir, chart.file));
  writeFileSync(join(reportDir, 'report.json'), JSON.stringify(REPORT_JSON));
  env.STACK_REPORT_DIR = reportDir;
  env.STACK_BROKER_LISTEN = `127.0.0.1:${await freePort()}`;
  env.STACK_REGISTRY_LISTEN = `127.0.0.1:${await freePort()}`;
  env.RUST_LOG ??= 'warn';

  const logPath = join(dataDir, 'stack.log');
  const log = openSync(logPath, 'w');
  const child = spawn(stackBin, ['up', '--no-build', '--data-dir', dataDir], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  const spawnError = new Promise((_, fail) => child.once('error', fail));
  spawnError.catch(() => {});

  let stopped = false;
  const onSignal = (signal) => {
    signalGroup(child, 'SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const stack = {
    urls,
    env,
    dataDir,
    logPath,
    serviceToken: null,
    /** SIGINT to the process group, ≤30 s to stop, then SIGKILL; removes the data dir. */
    async stop({ keepData = false } = {}) {
      if (stopped) return;
      stopped = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      signalGroup(child, 'SIGINT');
      if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
        signalGroup(child, 'SIGKILL');
        await waitForExit(child, 5_000);
      }
      // components that outlived the launcher (they share its group)
      signalGroup(child, 'SIGKILL');
      engine?.stop();
      if (!keepData && !process.env.KEEP_STACK_DATA) rmSync(dataDir, { recursive: true, force: true });
    },
    logTails: () => logTails(dataDir),
    /** Copies `stack up`'s log and every component's log into `dir` (call before `stop`). */
    saveLogs(dir) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      cpSync(logPath, join(dir, 'stack.log'));
      if (existsSync(join(dataDir, 'logs'))) cpSync(join(dataDir, 'logs'), dir, { recursive: true });
    },
  };

  try {
    const watched = Object.entries(urls).filter(([service]) => web || service !== 'web');
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(watched.map(([, url]) => ready(url)));
      if (states.every(Boolean)) break;
      const waiting = watched.filter((_, index) => !states[index]).map(([service]) => service);
      if (exited(child)) {
        throw new Error(`stack up exited (${child.exitCode ?? child.signalCode}) before ${waiting.join(', ')} were ready`);
      }
      if (Date.now() > deadline) {
        throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s: ${waiting.join(', ')}`);
      }
      await Promise.race([sleep(250), spawnError]);
    }
    stack.serviceToken = execFileSync(stackBin, ['token', '--service'], { env, encoding: 'utf8' }).trim();
    // `stack up` prints order-history's engine in its summary: the one asked for, or the test is void
    const summary = await eventually('the stack names its search engine',
      () => /order-history\s+http\S+ \((\w+)\)/.exec(readFileSync(logPath, 'utf8')), 10_000, 100);
    if (summary[1] !== BACKEND) throw new Error(`order-history runs on ${summary[1]}, not ${BACKEND}`);
  } catch (error) {
    const tails = logTails(dataDir);
    console.error(`the stack did not come up: ${error.message}\n${tails}`);
    await stack.stop({ keepData: true });
    error.message = `the stack did not come up: ${error.message} (logs kept in ${dataDir})\n${tails}`;
    throw error;
  }
  return stack;
}

// ---------------------------------------------------------------------------------------------
// writing through the source services

async function call(method, url, { body, token = WRITE_TOKEN, expect = [200, 201] } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!expect.includes(response.status)) {
    throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

export const address = (city = 'Utrecht') => ({
  line1: 'Oudegracht 231',
  line2: null,
  city,
  postal_code: '3511 NK',
  country: 'NL',
});

/** A unique suffix for ids, names and emails of one test's data. */
export const unique = () => randomUUID().slice(0, 8);

/**
 * Places an order for the customer in `currency` and, when asked, a payment (captured or not) and
 * a shipment moved through `shipmentStatuses` (each reported at `location`), or cancels it.
 * Returns { order, payment, shipment }, each as its service answered it last.
 */
export async function seedOrder(stack, {
  customerId,
  customerName,
  customerEmail,
  currency = 'EUR',
  items = [{ sku: 'SKU-TEA-001', name: 'Darjeeling first flush tea', quantity: 2, unit_price: 1499 }],
  payment = null, // null, or { capture: true|false, method: 'CARD' }
  shipmentStatuses = null, // null, or e.g. ['DISPATCHED']
  location = 'Utrecht hub',
  cancelReason = null,
}) {
  const { urls } = stack;
  let order = await call('POST', `${urls['order-svc']}/orders`, {
    body: {
      customer_id: customerId,
      customer_name: customerName,
      customer_email: customerEmail,
      currency,
      items,
      shipping_address: address(),
    },
  });
  let paymentBody = null;
  if (payment) {
    const amount = items.reduce((sum, item) => sum + item.quantity * item.unit_price, 0);
    paymentBody = await call('POST', `${urls['payment-svc']}/payments`, {
      body: { order_id: order.id, amount, currency, method: payment.method ?? 'CARD' },
    });
    if (payment.capture) {
      paymentBody = await call('POST', `${urls['payment-svc']}/payments/${paymentBody.id}/capture`);
    }
  }
  let shipment = null;
  if (shipmentStatuses) {
    shipment = await call('POST', `${urls['shipping-svc']}/shipments`, {
      body: { order_id: order.id, carrier: 'DHL', address: address() },
    });
    for (const status of shipmentStatuses) {
      shipment = await call('POST', `${urls['shipping-svc']}/shipments/${shipment.id}/status`, {
        body: { status, location },
      });
    }
  }
  if (cancelReason) {
    order = await call('POST', `${urls['order-svc']}/orders/${order.id}/cancel`, { body: { reason: cancelReason } });
  }
  return { order, payment: paymentBody, shipment };
}

/** GET from order-history with the service token; null on 404. */
export async function readHistory(stack, path) {
  const response = await fetch(`${stack.urls['order-history']}${path}`, {
    headers: { Authorization: `Bearer ${stack.serviceToken}` },
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`GET ${path} from order-history answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** Polls `probe` until it returns a truthy value (which it returns), or fails after `ms`. */
export async function eventually(what, probe, ms = INDEX_TIMEOUT_MS, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${ms / 1000} s (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(every);
  }
}

/**
 * Waits until order-history's document for the seeded order shows everything that was written:
 * its status, the payment (with its status) and the shipment (with its status).
 */
export async function waitIndexed(stack, seeded, ms = INDEX_TIMEOUT_MS) {
  const { order, payment, shipment } = seeded;
  return eventually(`order-history indexing order ${order.id}`, async () => {
    const document = await readHistory(stack, `/orders/${order.id}`);
    if (!document || document.incomplete || document.status !== order.status) return false;
    if (payment && !document.payments.some((p) => p.payment_id === payment.id && p.status === payment.status)) return false;
    if (shipment && !document.shipments.some((s) => s.shipment_id === shipment.id && s.status === shipment.status)) return false;
    return document;
  }, ms);
}

/** Waits until order-history's search for `params` finds `total` orders; returns the results. */
export async function waitSearch(stack, params, total, ms = INDEX_TIMEOUT_MS) {
  const query = new URLSearchParams(params).toString();
  return eventually(`order-history search ?${query} finding ${total}`, async () => {
    const results = await readHistory(stack, `/orders?${query}`);
    return results && results.total === total ? results : false;
  }, ms);
}

// ---------------------------------------------------------------------------------------------
// the browser

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium (or CHROMIUM_BIN) through playwright-core, which downloads no browser. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

export function outputDir() {
  mkdirSync(OUTPUT, { recursive: true });
  return OUTPUT;
}

// ---------------------------------------------------------------------------------------------
// fault injection, read back from the services themselves

export const SOURCES = ['order-svc', 'payment-svc', 'shipping-svc'];

/** The service's current fault settings, { delay_ms, error_rate }. */
export async function readFaults(stack, service) {
  return call('GET', `${stack.urls[service]}/admin/faults`, { token: ADMIN_TOKEN, expect: [200] });
}

/** Sets a source service's fault injection, e.g. { delay_ms: 0, error_rate: 1 } to fail every read. */
export async function setFaults(stack, service, settings) {
  return call('PUT', `${stack.urls[service]}/admin/faults`, { token: ADMIN_TOKEN, body: settings, expect: [200] });
}

/** Turns fault injection off on every source service (a safety net behind the page's "Heal all"). */
export async function healFaults(stack) {
  await Promise.all(SOURCES.map((service) => call('PUT', `${stack.urls[service]}/admin/faults`, {
    token: ADMIN_TOKEN,
    body: { delay_ms: 0, error_rate: 0 },
    expect: [200],
  })));
}
