// The outbound pages, end to end: the built binary's `hookgate dev`, the
// console in Chromium, and a real receiver on a loopback port. Through the
// pages: applications, the event-type catalog, an endpoint (refused with
// the API's error next to the field, then created with its secret shown
// once), a test ping and its attempt, settings and the secret, a failed
// delivery replayed once the receiver is fixed, a recovered window, and
// disable/enable/delete. The tests run in order and share the set-up.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { launch, rpc, shot, signIn, startDev, until } from "./harness.mjs";

const tenant = "outco";
let dev, b, receiver;
const s = {}; // what the tests learn and pass on: app id, endpoint id, secret…

// A receiver that records every request and answers 200, or 500 while
// failing is set.
function startReceiver() {
  const got = [];
  const r = { got, failing: false };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const status = r.failing ? 500 : 200;
      got.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), status });
      res.writeHead(status, { "Content-Type": "text/plain" });
      res.end(status === 200 ? "ok, received" : "receiver is down");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      r.url = `http://127.0.0.1:${server.address().port}/hooks`;
      r.close = () => new Promise((done) => server.close(done));
      resolve(r);
    }),
  );
}

// verified reports whether a request carries a Standard Webhooks v1
// signature made with secret (whsec_…), recomputed here.
function verified(reqRec, secret) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig } = reqRec.headers;
  const want = createHmac("sha256", key).update(`${id}.${ts}.${reqRec.body}`).digest("base64");
  return sig.split(" ").includes(`v1,${want}`);
}

// fieldError is the error text tied to a control by aria-describedby.
async function fieldError(page, control) {
  await until("an error on the field", async () => (await control.getAttribute("aria-invalid")) === "true", 10000);
  const ids = (await control.getAttribute("aria-describedby")).split(" ").filter((i) => i.endsWith("-err"));
  assert.equal(ids.length, 1, "one error tied to the field");
  return page.locator(`[id="${ids[0]}"]`).textContent();
}

// sendMessage is the producer's call to the edge: set-up, as a producer's
// system would send (the console's own send form is tested below).
async function sendMessage(payload) {
  const res = await fetch(`${dev.edge}/hookgate.v1.MessageService/SendMessage`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${dev.token}` },
    body: JSON.stringify({ message: { tenant, applicationId: s.app, eventType: "order.created", payload } }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text).message.id;
}

async function openEndpointTab(page, name) {
  await page.goto(`${dev.admin}/console/#/apps/${s.app}/endpoints/${s.endpoint}`);
  await page.getByRole("tab", { name }).click();
  await page.getByRole("tabpanel", { name }).waitFor();
}

// attemptRow waits, refreshing the log, for an attempt of message msg
// whose row also matches sel ('[data-number="3"]', ':has-text("manual")').
async function attemptRow(page, msg, sel = "") {
  const row = page.locator(`tr[data-message="${msg}"]${sel}`);
  const refresh = page.getByRole("region", { name: "Attempts log" }).getByRole("button", { name: "Refresh" });
  await until(
    `an attempt of ${msg} ${sel}`,
    async () => {
      if ((await row.count()) > 0) return true;
      // A click waits for the button, disabled while a load runs.
      await refresh.click();
      return false;
    },
    60000,
  );
  return row.first();
}

before(async () => {
  receiver = await startReceiver();
  dev = await startDev();
  // Plain-http endpoints for the loopback receiver, and a short retry
  // schedule (three attempts) so deliveries end failed within the test.
  // (CreateTenant keeps no retry_schedule: it is set with UpdateTenant.)
  const { tenant: t } = await rpc(dev, "hookgate.v1.TenantService/CreateTenant", { tenant: { id: tenant, allowHttpEndpoints: true } });
  await rpc(dev, "hookgate.v1.TenantService/UpdateTenant", {
    tenant: { id: tenant, retrySchedule: { delays: ["1s", "1s"] }, etag: t.etag },
    updateMask: "retrySchedule",
  });
  b = await launch();
  await signIn(b.page, dev.admin, dev.token);
  await b.page.locator("header.top select").selectOption(tenant);
});

after(async () => {
  await b?.close();
  await dev?.stop();
  await receiver?.close();
});

test("applications are created, edited and deleted with confirmation", async () => {
  const { page } = b;
  await page.goto(`${dev.admin}/console/#/apps`);
  await page.getByText("No applications yet.").waitFor();

  const create = async (name, uid) => {
    await page.getByRole("button", { name: "Create application" }).click();
    const d = page.getByRole("dialog", { name: "Create application" });
    await d.getByLabel("Name", { exact: true }).fill(name);
    if (uid) await d.getByLabel("UID (optional)").fill(uid);
    return d;
  };

  // A bad uid is refused under its field.
  let d = await create("Acme Corp", "app_bad");
  await d.getByRole("button", { name: "Create" }).click();
  assert.match(await fieldError(page, d.getByLabel("UID (optional)")), /must not start with "app_"/);
  await d.getByLabel("UID (optional)").fill("acme-1");
  await d.getByRole("button", { name: "Add metadata" }).click();
  await d.getByLabel("Key 1", { exact: true }).fill("plan");
  await d.getByLabel("Key 1 value").fill("gold");
  await d.getByRole("button", { name: "Create" }).click();
  await d.waitFor({ state: "hidden" });
  const link = page.getByRole("link", { name: "Acme Corp" });
  await link.waitFor();
  s.app = (await link.getAttribute("href")).split("/").pop();
  assert.match(s.app, /^app_/);
  await page.getByText("plan=gold").waitFor();

  // Edit sends only what changed, with the etag.
  await page.getByRole("button", { name: "Edit Acme Corp" }).click();
  d = page.getByRole("dialog", { name: "Edit Acme Corp" });
  await d.getByLabel("Name", { exact: true }).fill("Acme Corporation");
  await d.getByRole("button", { name: "Save" }).click();
  await page.getByRole("link", { name: "Acme Corporation" }).waitFor();
  const got = await rpc(dev, "hookgate.v1.ApplicationService/GetApplication", { tenant, applicationId: s.app });
  assert.equal(got.application.name, "Acme Corporation");
  assert.equal(got.application.uid, "acme-1");

  // A second one, deleted after the confirmation.
  d = await create("Temporary", "");
  await d.getByRole("button", { name: "Create" }).click();
  await page.getByRole("link", { name: "Temporary" }).waitFor();
  await shot(page, "20-apps");
  await page.getByRole("button", { name: "Delete Temporary" }).click();
  const confirm = page.getByRole("dialog", { name: "Delete application?" });
  await confirm.getByRole("button", { name: "Delete application" }).click();
  await page.getByRole("link", { name: "Temporary" }).waitFor({ state: "detached" });
  const { applications } = await rpc(dev, "hookgate.v1.ApplicationService/ListApplications", { tenant });
  assert.deepEqual(applications.map((a) => a.name), ["Acme Corporation"]);
});

const schema = { type: "object", required: ["orderId"], properties: { orderId: { type: "string" }, total: { type: "number" } } };

test("event types: an example that fails its schema is refused next to it; view, archive and unarchive", async () => {
  const { page } = b;
  await page.goto(`${dev.admin}/console/#/event-types`);
  await page.getByText("No event types yet.").waitFor();
  await page.getByRole("button", { name: "Create event type" }).click();
  const d = page.getByRole("dialog", { name: "Create event type" });
  await d.getByLabel("Name", { exact: true }).fill("order.created");
  await d.getByLabel("Description").fill("An order was placed");
  await d.getByLabel("JSON Schema").fill(JSON.stringify(schema, null, 2));
  await d.getByLabel("Example payload").fill('{"orderId": 1001}');
  await d.getByRole("button", { name: "Create" }).click();
  const err = await fieldError(page, d.getByLabel("Example payload"));
  assert.match(err, /does not satisfy the schema at "\/orderId"/);
  await shot(page, "22a-event-type-invalid-example");
  // Not JSON is caught before the call, next to the field as well.
  await d.getByLabel("JSON Schema").fill("{nope");
  await d.getByRole("button", { name: "Create" }).click();
  assert.match(await fieldError(page, d.getByLabel("JSON Schema")), /is not JSON/);
  await d.getByLabel("JSON Schema").fill(JSON.stringify(schema, null, 2));
  await d.getByLabel("Example payload").fill('{"orderId": "ORD-1", "total": 12.5}');
  await d.getByRole("button", { name: "Create" }).click();
  await d.waitFor({ state: "hidden" });

  // A second type, archived and unarchived.
  await page.getByRole("button", { name: "Create event type" }).click();
  await d.getByLabel("Name", { exact: true }).fill("invoice.paid");
  await d.getByRole("button", { name: "Create" }).click();
  await d.waitFor({ state: "hidden" });
  await page.getByRole("button", { name: "Archive invoice.paid" }).click();
  await page.getByRole("dialog", { name: "Archive event type?" }).getByRole("button", { name: "Archive" }).click();
  // Archived types are hidden unless asked for.
  await page.getByRole("button", { name: "Archive invoice.paid" }).waitFor({ state: "detached" });
  await page.getByLabel("Show archived types").check();
  await page.getByRole("button", { name: "Unarchive invoice.paid" }).click();
  await page.getByRole("button", { name: "Archive invoice.paid" }).waitFor();
  await shot(page, "22-event-types");

  // View shows the schema and example as stored.
  await page.getByRole("button", { name: "View order.created" }).click();
  const v = page.getByRole("dialog", { name: "order.created" });
  assert.deepEqual(JSON.parse(await v.getByTestId("et-schema").textContent()), schema);
  assert.deepEqual(JSON.parse(await v.getByTestId("et-example").textContent()), { orderId: "ORD-1", total: 12.5 });
  await shot(page, "22b-event-type-view");
  // Update the description from the view.
  await v.getByRole("button", { name: "Edit" }).click();
  const e = page.getByRole("dialog", { name: "Edit order.created" });
  await e.getByLabel("Description").fill("An order was placed by a customer");
  await e.getByRole("button", { name: "Save" }).click();
  await v.getByText("An order was placed by a customer").waitFor();
  await v.getByRole("button", { name: "Close" }).click();
  const got = await rpc(dev, "hookgate.v1.EventTypeService/GetEventType", { tenant, name: "order.created" });
  assert.equal(got.eventType.description, "An order was placed by a customer");
  assert.deepEqual(got.eventType.example, { orderId: "ORD-1", total: 12.5 });
});

test("endpoints: a bad scheme or a Host header is refused next to its field; the created one's secret is shown once", async () => {
  const { page } = b;
  await page.goto(`${dev.admin}/console/#/apps/${s.app}`);
  await page.getByRole("heading", { name: "Acme Corporation" }).waitFor();
  await page.getByRole("button", { name: "Create endpoint" }).click();
  const d = page.getByRole("dialog", { name: "Create endpoint" });
  const url = d.getByLabel("URL");
  await url.fill("ftp://127.0.0.1/hooks");
  await d.getByRole("checkbox", { name: "order.created" }).check();
  await d.getByRole("button", { name: "Create endpoint" }).click();
  assert.match(await fieldError(page, url), /scheme "ftp" is not allowed/);

  await url.fill(receiver.url);
  await d.getByRole("button", { name: "Add header" }).click();
  await d.getByLabel("Header 1", { exact: true }).fill("Host");
  await d.getByLabel("Header 1 value").fill("evil.example");
  await d.getByRole("button", { name: "Create endpoint" }).click();
  const headers = d.getByRole("group", { name: "Custom headers" });
  assert.match(await fieldError(page, headers), /Host cannot be set/);
  assert.equal(await url.getAttribute("aria-invalid"), null, "the URL is no longer marked");
  await shot(page, "21a-endpoint-invalid-header");

  await d.getByLabel("Header 1", { exact: true }).fill("Authorization");
  await d.getByLabel("Header 1 value").fill("Bearer rcv-token");
  assert.equal(await d.getByLabel("Header 1 value").getAttribute("type"), "password");
  await d.getByRole("button", { name: "Add header" }).click();
  await d.getByLabel("Header 2", { exact: true }).fill("X-Team");
  await d.getByLabel("Header 2 value").fill("payments");
  await d.getByLabel("Name (optional)").fill("Acme receiver");
  await d.getByLabel("Rate limit (per second)").fill("50");
  await d.getByLabel("Burst").fill("100");
  await d.getByLabel("Max in flight").fill("10");
  await d.getByRole("button", { name: "Create endpoint" }).click();
  const secret = d.getByTestId("secret-value");
  await secret.waitFor();
  s.secret = await secret.textContent();
  assert.match(s.secret, /^whsec_/);
  await d.getByText("this is the only time Hookgate shows it").waitFor();
  await shot(page, "21b-endpoint-created");
  await d.getByRole("button", { name: "Done" }).click();
  await d.waitFor({ state: "hidden" });

  const link = page.getByRole("link", { name: "Acme receiver" });
  await link.waitFor();
  s.endpoint = (await link.getAttribute("href")).split("/").pop();
  assert.match(s.endpoint, /^ep_/);
  const row = page.locator("tr", { has: link });
  await row.getByText("enabled").waitFor();
  await row.getByText("order.created").waitFor();
  // The secret is in no read.
  const ep = await rpc(dev, "hookgate.v1.EndpointService/GetEndpoint", { tenant, endpointId: s.endpoint });
  assert.ok(!JSON.stringify(ep).includes(s.secret));
  assert.equal(ep.endpoint.headers.Authorization, "REDACTED");
  assert.equal(ep.endpoint.maxInFlight, 10);
});

test("testing: a test ping's result shows inline, then its attempt in the log; the receiver got it signed", async () => {
  const { page } = b;
  await openEndpointTab(page, "Overview");
  await page.getByRole("heading", { name: "Health" }).waitFor();
  await shot(page, "23-endpoint-overview");

  await page.getByRole("tab", { name: "Testing" }).click();
  await page.getByRole("button", { name: "Send test ping" }).click();
  const result = page.getByTestId("test-result");
  await result.waitFor();
  await result.getByRole("heading", { name: /Test ping: 200/ }).waitFor();
  const attemptId = await result.locator("dd code").first().textContent();
  const msgId = await result.locator("dd code").nth(1).textContent();
  assert.match(attemptId, /^att_/);
  s.pingAttempt = attemptId;
  assert.match(msgId, /^msg_test_/);
  assert.match(await result.locator("pre").textContent(), /ok, received/);
  const got = await until("the receiver to get the ping", () => receiver.got.find((r) => r.headers["webhook-id"] === msgId));
  assert.ok(verified(got, s.secret), "signed with the endpoint's secret");
  assert.equal(got.headers.authorization, "Bearer rcv-token");
  assert.equal(got.headers["x-team"], "payments");

  // Send example sends the catalog example.
  await page.getByRole("button", { name: "Send example" }).click();
  await result.getByRole("heading", { name: /Example of order\.created: 200/ }).waitFor();
  const exId = await result.locator("dd code").nth(1).textContent();
  const ex = await until("the receiver to get the example", () => receiver.got.find((r) => r.headers["webhook-id"] === exId));
  assert.deepEqual(JSON.parse(ex.body), { orderId: "ORD-1", total: 12.5 });
  await shot(page, "26-endpoint-testing");

  await page.getByRole("tab", { name: "Attempts" }).click();
  const row = page.locator(`tr[data-attempt="${attemptId}"]`);
  await row.waitFor();
  await row.getByText("test", { exact: true }).waitFor();
  await row.getByText("200", { exact: true }).waitFor();
  // The response excerpt opens.
  await row.getByText("12 B", { exact: true }).click();
  await row.getByText("ok, received").waitFor();
});

test("settings: Authorization stays REDACTED, a bad timeout is refused next to it, a change is saved with its mask", async () => {
  const { page } = b;
  await openEndpointTab(page, "Settings");
  const panel = page.getByRole("tabpanel", { name: "Settings" });
  assert.equal(await panel.getByLabel("Header 1", { exact: true }).inputValue(), "Authorization");
  assert.equal(await panel.getByLabel("Header 1 value").inputValue(), "");
  assert.equal(await panel.getByLabel("Header 1 value").getAttribute("placeholder"), "REDACTED (unchanged)");
  const timeout = panel.getByLabel("Timeout (ms)");
  await timeout.fill("40000");
  await panel.getByRole("button", { name: "Save settings" }).click();
  assert.match(await fieldError(page, timeout), /must be .* to 30000, got 40000/);
  await timeout.fill("3000");
  await panel.getByLabel("Header 2 value").fill("platform");
  await panel.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Saved: timeout_ms, headers").waitFor();
  await shot(page, "24-endpoint-settings");
  const { endpoint } = await rpc(dev, "hookgate.v1.EndpointService/GetEndpoint", { tenant, endpointId: s.endpoint });
  assert.equal(endpoint.timeoutMs, 3000);
  assert.deepEqual(endpoint.headers, { Authorization: "REDACTED", "X-Team": "platform" });
  // The stored Authorization value was kept: the next delivery carries it.
  await page.getByRole("tab", { name: "Testing" }).click();
  await page.getByRole("button", { name: "Send test ping" }).click();
  await page.getByTestId("test-result").getByRole("heading", { name: /Test ping: 200/ }).waitFor();
  const msgId = await page.getByTestId("test-result").locator("dd code").nth(1).textContent();
  const got = await until("the ping", () => receiver.got.find((r) => r.headers["webhook-id"] === msgId));
  assert.equal(got.headers.authorization, "Bearer rcv-token");
  assert.equal(got.headers["x-team"], "platform");
});

test("secret: reveal shows the current secret; rotation with a grace period shows the new one once and signs with both", async () => {
  const { page } = b;
  await openEndpointTab(page, "Secret");
  await page.getByRole("button", { name: "Reveal secret" }).click();
  assert.equal(await page.getByTestId("revealed-secret").textContent(), s.secret);
  await page.getByLabel("Grace period").selectOption({ label: "1 hour" });
  await page.getByRole("button", { name: "Rotate secret" }).click();
  const c = page.getByRole("dialog", { name: "Rotate the signing secret?" });
  await c.getByText("1 hour").waitFor();
  await c.getByRole("button", { name: "Rotate secret" }).click();
  const fresh = page.getByRole("group", { name: "New signing secret" }).getByTestId("secret-value");
  await fresh.waitFor();
  const next = await fresh.textContent();
  assert.match(next, /^whsec_/);
  assert.notEqual(next, s.secret);
  await page.getByText(/still signs until/).waitFor();
  await shot(page, "25-endpoint-secret");

  await page.getByRole("tab", { name: "Testing" }).click();
  await page.getByRole("button", { name: "Send test ping" }).click();
  await page.getByTestId("test-result").getByRole("heading", { name: /Test ping: 200/ }).waitFor();
  const msgId = await page.getByTestId("test-result").locator("dd code").nth(1).textContent();
  const got = await until("the ping", () => receiver.got.find((r) => r.headers["webhook-id"] === msgId));
  assert.ok(verified(got, next), "signed with the new secret");
  assert.ok(verified(got, s.secret), "and, in the grace period, the old one");
  s.secret = next;
});

test("secret: where the tenant forbids reading secrets, reveal says so", async () => {
  const { page } = b;
  const { tenant: t } = await rpc(dev, "hookgate.v1.TenantService/GetTenant", { tenant });
  await rpc(dev, "hookgate.v1.TenantService/UpdateTenant", {
    tenant: { id: tenant, allowEndpointSecretRead: false, etag: t.etag },
    updateMask: "allowEndpointSecretRead",
  });
  try {
    await openEndpointTab(page, "Secret");
    await page.getByRole("button", { name: "Reveal secret" }).click();
    const alert = page.getByRole("tabpanel").getByRole("alert");
    await alert.getByText("Not allowed.").waitFor();
    assert.match(await alert.textContent(), /The API said: .+/);
    await shot(page, "25b-endpoint-secret-denied");
    await page.getByTestId("revealed-secret").waitFor({ state: "detached" });
  } finally {
    const { tenant: t2 } = await rpc(dev, "hookgate.v1.TenantService/GetTenant", { tenant });
    await rpc(dev, "hookgate.v1.TenantService/UpdateTenant", {
      tenant: { id: tenant, allowEndpointSecretRead: true, etag: t2.etag },
      updateMask: "allowEndpointSecretRead",
    });
  }
});

test("attempts: a delivery that failed is replayed after the receiver is fixed, and the new attempt succeeds", async () => {
  const { page } = b;
  receiver.failing = true;
  const msg = await sendMessage({ orderId: "ORD-FAIL-1" });
  await openEndpointTab(page, "Attempts");
  // Three attempts (the tenant's schedule), the last leaves it failed.
  const last = await attemptRow(page, msg, '[data-number="3"][data-delivery="failed"]');
  await last.getByText("500").first().waitFor();
  assert.equal(receiver.got.filter((r) => r.headers["webhook-id"] === msg).length, 3);

  // The status filter keeps only failures.
  await page.getByLabel("Status").selectOption({ label: "Succeeded" });
  await page.locator(`tr[data-message="${msg}"]`).first().waitFor({ state: "detached" });
  await page.getByLabel("Status").selectOption({ label: "Failed (incl. retry pending)" });
  await page.locator(`tr[data-message="${msg}"][data-delivery="failed"]`).waitFor();
  await shot(page, "27-endpoint-attempts");

  receiver.failing = false;
  await page.getByLabel("Status").selectOption({ label: "All" });
  await page.getByRole("button", { name: `Replay ${msg} (attempt 3)` }).click();
  await page.getByText(/Replay made attempt \d+: 200/).waitFor();
  const replayed = page.locator(`tr[data-message="${msg}"][data-trigger="manual"][data-delivery="succeeded"]`);
  await replayed.getByText("200", { exact: true }).waitFor();
  const last4 = receiver.got.filter((r) => r.headers["webhook-id"] === msg);
  assert.equal(last4.length, 4);
  assert.equal(last4[3].status, 200);
  assert.ok(verified(last4[3], s.secret));
  await shot(page, "27b-endpoint-attempts-replayed");

  // The message page shows the payload and the delivery's state.
  await page.locator(`tr[data-message="${msg}"]`).first().getByRole("link", { name: msg }).click();
  await page.getByRole("heading", { name: `Message ${msg}` }).waitFor();
  assert.deepEqual(JSON.parse(await page.getByTestId("payload").textContent()), { orderId: "ORD-FAIL-1" });
  const delivery = page.locator(`tr[data-endpoint="${s.endpoint}"]`);
  await delivery.getByText("succeeded").waitFor();
  await page.getByRole("region", { name: "Attempts log" }).locator("tbody tr").nth(3).waitFor();
  await shot(page, "29-message");
});

test("recover: a window's failed deliveries are sent again, with a progress bar until done", async () => {
  const { page } = b;
  receiver.failing = true;
  const msg = await sendMessage({ orderId: "ORD-FAIL-2" });
  await openEndpointTab(page, "Attempts");
  await attemptRow(page, msg, '[data-number="3"][data-delivery="failed"]');
  receiver.failing = false;

  await page.getByRole("tab", { name: "Recover" }).click();
  const since = await page.getByLabel("Since").inputValue();
  assert.match(since, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, "a default window");
  await page.getByRole("button", { name: "Recover failed messages" }).click();
  const job = page.locator("section.recovery");
  await job.waitFor();
  await page.locator('section.recovery[data-state="COMPLETED"]').waitFor({ timeout: 60000 });
  const bar = page.getByRole("progressbar");
  assert.equal(await bar.getAttribute("value"), await bar.getAttribute("max"));
  assert.equal(await page.getByTestId("recovery-delivered").textContent(), "1");
  await job.getByText("1 of 1 re-queued deliveries ended").waitFor();
  await shot(page, "28-endpoint-recover");
  const got = receiver.got.filter((r) => r.headers["webhook-id"] === msg);
  assert.equal(got.length, 4);
  assert.equal(got[3].status, 200);
  await page.getByRole("tab", { name: "Attempts" }).click();
  const rec = await attemptRow(page, msg, '[data-trigger="recover"][data-delivery="succeeded"]');
  await rec.getByText("200", { exact: true }).waitFor();

  // Cursor pages, ten attempts a page, newest first: the oldest, the first
  // test ping, is on page 2; Previous goes back.
  await page.getByRole("button", { name: "Next →" }).click();
  await page.getByText("Page 2").waitFor();
  await page.locator(`tr[data-attempt="${s.pingAttempt}"]`).waitFor();
  await page.getByRole("button", { name: "← Previous" }).click();
  await page.getByText("Page 1").waitFor();
  await rec.waitFor();

  // The application page lists the endpoint's health and the messages,
  // each with its delivery state.
  await page.getByRole("link", { name: s.app }).click();
  const m = page.locator("tr", { has: page.getByRole("link", { name: msg }) });
  await m.getByText("succeeded").waitFor();
  await m.getByText("order.created").waitFor();
  await page.locator("tr", { has: page.getByRole("link", { name: "Acme receiver" }) }).getByText(/\d+ ms \/ \d+ ms/).waitFor();
  await shot(page, "21-app-detail");
});

test("disable and enable ask first and show the state; delete goes back to the application", async () => {
  const { page } = b;
  await openEndpointTab(page, "Overview");
  await page.getByRole("button", { name: "Disable endpoint" }).click();
  await page.getByRole("dialog", { name: "Disable endpoint?" }).getByRole("button", { name: "Disable" }).click();
  await page.getByRole("main").getByText("disabled (manual)").first().waitFor();
  let { endpoint } = await rpc(dev, "hookgate.v1.EndpointService/GetEndpoint", { tenant, endpointId: s.endpoint });
  assert.equal(endpoint.status, "ENDPOINT_STATUS_DISABLED");
  await shot(page, "23b-endpoint-disabled");
  // A disabled endpoint takes no test send: the API's refusal is shown.
  await page.getByRole("tab", { name: "Testing" }).click();
  await page.getByRole("button", { name: "Send test ping" }).click();
  await page.getByText("Test ping: not sent").waitFor();
  await page.getByRole("tab", { name: "Overview" }).click();
  await page.getByRole("button", { name: "Enable endpoint" }).click();
  await page.getByRole("button", { name: "Disable endpoint" }).waitFor();
  ({ endpoint } = await rpc(dev, "hookgate.v1.EndpointService/GetEndpoint", { tenant, endpointId: s.endpoint }));
  assert.equal(endpoint.status, "ENDPOINT_STATUS_ENABLED");

  await page.getByRole("button", { name: "Delete endpoint" }).click();
  await page.getByRole("dialog", { name: "Delete endpoint?" }).getByRole("button", { name: "Delete endpoint" }).click();
  await page.getByRole("heading", { name: "Acme Corporation" }).waitFor();
  await page.getByText("No endpoints yet").waitFor();
  assert.deepEqual(b.consoleErrors, []);
});
