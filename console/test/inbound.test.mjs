// The inbound pages, end to end: the built binary's `hookgate dev` and the
// console in Chromium. Through the pages: a refused create shows the API's
// error next to its field; a webhook is created and its URL with key
// copied; a call with the key is accepted and is not a failed trigger, a
// call with a wrong key is (paged with "Next page"); the live tail shows a
// call made while it is open; deactivate and activate; rotate the key with
// no grace; replace a provider secret and see a call signed with the new
// one accepted; delete. The tests run in order and share the set-up.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { launch, rpc, shot, signIn, startDev, until } from "./harness.mjs";

const tenant = "inco";
const name = "Orders (prod)";
let dev, b;
const s = {}; // what the tests learn and pass on: webhook id, URLs…

// fieldError is the error text tied to a control by aria-describedby.
async function fieldError(page, control) {
  await until("an error on the field", async () => (await control.getAttribute("aria-invalid")) === "true", 10000);
  const ids = (await control.getAttribute("aria-describedby")).split(" ").filter((i) => i.endsWith("-err"));
  assert.equal(ids.length, 1, "one error tied to the field");
  return page.locator(`[id="${ids[0]}"]`).textContent();
}

// post calls the edge as a provider would.
async function post(url, body = { orderId: "ORD-1" }, headers = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

// postUntil posts until the edge answers want: an edge applies a change of
// configuration a moment after the control plane stored it.
async function postUntil(what, want, url, body, headers) {
  let last;
  await until(what, async () => {
    last = await post(url, body, headers);
    return last.status === want;
  });
  return last;
}

function go(page, path) {
  return page.goto(`${dev.admin}/console/#/${path}`);
}

const row = (page, id) => page.locator(`tr[data-webhook="${id}"]`);

async function rowAction(page, id, action) {
  const r = row(page, id);
  await r.getByText("Actions", { exact: true }).click();
  await r.getByRole("button", { name: action, exact: true }).click();
}

before(async () => {
  dev = await startDev();
  await rpc(dev, "hookgate.v1.TenantService/CreateTenant", { tenant: { id: tenant, displayName: "Inbound Co" } });
  b = await launch();
  await signIn(b.page, dev.admin, dev.token);
});

after(async () => {
  await b?.close();
  await dev?.stop();
});

test("a refused create shows the API's error next to the field it names", async () => {
  const { page } = b;
  await go(page, "webhooks");
  await page.getByText("No webhooks yet").waitFor();
  await page.getByRole("button", { name: "New webhook" }).click();
  const form = page.getByRole("form", { name: "New webhook" });
  await form.getByLabel("Name", { exact: true }).fill("ab");
  await form.getByLabel("Process id").fill("orders");
  await form.getByRole("button", { name: "Create webhook" }).click();
  assert.match(await fieldError(page, form.getByLabel("Name", { exact: true })), /must be 3–50 characters, got 2/);

  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Process id").fill("bad process!");
  await form.getByRole("button", { name: "Create webhook" }).click();
  assert.match(await fieldError(page, form.getByLabel("Process id")), /"bad process!" must be 1–128 characters/);
  assert.equal(await form.getByLabel("Name", { exact: true }).getAttribute("aria-invalid"), null, "the name is no longer marked");

  // A resume binding needs its correlation path: the error is on the second binding's field.
  await form.getByLabel("Process id").fill("orders");
  await form.getByRole("button", { name: "Add binding" }).click();
  const second = form.getByRole("group", { name: "Binding 2" });
  await second.getByLabel("Process id").fill("chat");
  await second.getByLabel("Trigger").selectOption({ label: "Resume process" });
  await form.getByRole("button", { name: "Create webhook" }).click();
  assert.match(await fieldError(page, second.getByLabel("Correlation path")), /is required for TRIGGER_RESUME_PROCESS/);
  await shot(page, "14-webhook-invalid");
  await second.getByRole("button", { name: "Remove binding 2" }).click();
});

test("a webhook is created, its URL with key shown once and copied", async () => {
  const { page } = b;
  const form = page.getByRole("form", { name: "New webhook" });
  await form.getByRole("button", { name: "Create webhook" }).click();
  const created = page.getByRole("region", { name: `Webhook ${name} created` });
  await created.waitFor();
  const group = created.getByRole("group", { name: "URL with key" });
  s.urlWithKey = await group.getByTestId("secret-value").textContent();
  const m = s.urlWithKey.match(/^(.+\/in\/inco\/(wh_[a-z0-9]+))\?key=(hgk_\S+)$/);
  assert.ok(m, `URL with key: ${s.urlWithKey}`);
  [, s.url, s.id, s.key] = m;
  assert.equal(s.url, `${dev.edge}/in/${tenant}/${s.id}`, "the edge's URL as the API gives it");
  assert.match(await group.textContent(), /only time Hookgate shows it/);
  assert.equal(await created.getByRole("group", { name: "API key" }).getByTestId("secret-value").textContent(), s.key);

  await group.getByRole("button", { name: "Copy" }).click();
  await group.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), s.urlWithKey);
  await shot(page, "11-webhook-created");

  // The list shows the webhook with its URL, never the key.
  const r = row(page, s.id);
  await r.waitFor();
  assert.match(await r.textContent(), /active/);
  assert.equal(await r.locator("td.url code").textContent(), s.url);
  assert.ok(!(await page.locator("table.webhooks").textContent()).includes(s.key), "no key in the table");
  assert.match(await r.textContent(), /orders\s*start/);
  await created.getByRole("button", { name: "I have copied it" }).click();
  await created.waitFor({ state: "detached" });
  assert.ok(!(await page.content()).includes(s.key), "the key is gone from the page");
  await shot(page, "10-webhooks");
});

test("a call with the key is accepted and is not a failed trigger", async () => {
  const { page } = b;
  const res = await postUntil("the edge to accept the new webhook", 200, s.urlWithKey);
  assert.match(res.body, /"eventId":"evt_/);
  await go(page, "failed");
  await page.getByText("No failed triggers").waitFor();
});

test("calls with a wrong key are listed with their reason, a page at a time", async () => {
  const { page } = b;
  for (let i = 0; i < 12; i++) {
    const res = await post(`${s.url}?key=hgk_wrongwrongwrong`, { n: i });
    assert.equal(res.status, 401);
  }
  await go(page, "failed");
  await page.getByLabel("Rows per page").selectOption("10");
  const rows = page.locator("tr[data-failed]");
  // Records reach the failed-trigger stream a moment after the 401.
  await until("12 failed triggers", async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator(".failed-list[aria-busy=false]").waitFor();
    return (await rows.count()) === 10 && (await page.getByRole("button", { name: "Next page" }).isEnabled());
  });
  const first = await rows.first();
  assert.match(await first.textContent(), /bad_key/);
  assert.match(await first.textContent(), /401/);
  assert.match(await first.textContent(), /API key missing or wrong/);
  const page1 = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.failed));

  // Expanding a row shows its redacted headers and body.
  await first.getByRole("button", { name: "Details" }).click();
  const detail = page.locator("tr.more");
  await detail.getByText("Headers (redacted)").waitFor();
  assert.match(await detail.textContent(), /content-type\s*application\/json/i);
  assert.match(await detail.textContent(), /"n":11/, "the newest first");
  assert.ok(!(await detail.textContent()).includes("hgk_wrongwrongwrong"), "the key sent is never shown");
  await shot(page, "12-failed-triggers");

  await page.getByRole("button", { name: "Next page" }).click();
  await until("page 2", async () => (await page.getByText("Page 2").count()) === 1 && (await rows.count()) === 2);
  const page2 = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.failed));
  assert.equal(page2.filter((id) => page1.includes(id)).length, 0, "page 2 repeats nothing of page 1");
  assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
  await page.getByRole("button", { name: "Previous page" }).click();
  await until("page 1 again", async () => (await rows.count()) === 10);
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.failed)), page1);

  // The webhook filter lists the same failures for that webhook alone.
  await page.getByLabel("Webhook", { exact: true }).selectOption(s.id);
  await until("the webhook's failures", async () => (await rows.count()) === 10);
});

test("the live tail shows an event posted while it is open", async () => {
  const { page } = b;
  await go(page, "tail");
  await page.getByRole("status").filter({ hasText: "Listening" }).waitFor();
  const res = await post(s.urlWithKey, { hello: "tail", n: 1 }, { "X-Test": "tail-1" });
  assert.equal(res.status, 200);
  const eventId = JSON.parse(res.body).eventId;
  const ev = page.locator(`li[data-event="${eventId}"]`);
  await ev.waitFor();
  assert.match(await ev.textContent(), /orders\s*start/);
  assert.match(await ev.textContent(), /"hello":"tail"/);
  assert.match(await ev.textContent(), new RegExp(name.replace(/[()]/g, "\\$&")));
  await ev.getByRole("button", { name: "Details" }).click();
  await ev.getByText("x-test").waitFor();
  assert.match(await ev.textContent(), /tail-1/);
  assert.ok(!(await ev.textContent()).includes(s.key), "the key never reaches the envelope");

  // A process filter that is not this webhook's hides its next event.
  await page.getByLabel("Process", { exact: true }).fill("elsewhere");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByText("Showing process elsewhere").waitFor();
  await page.getByRole("status").filter({ hasText: "Listening" }).waitFor();
  await page.getByLabel("Process", { exact: true }).fill("orders");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByText("Showing process orders").waitFor();
  await page.getByRole("status").filter({ hasText: "Listening" }).waitFor();
  const res2 = await post(s.urlWithKey, { hello: "tail", n: 2 });
  await page.locator(`li[data-event="${JSON.parse(res2.body).eventId}"]`).waitFor();
  await shot(page, "13-tail");
});

test("deactivate answers 410 and shows the state; activate brings it back", async () => {
  const { page } = b;
  await go(page, "webhooks");
  await rowAction(page, s.id, "Deactivate");
  await row(page, s.id).getByText("inactive", { exact: true }).waitFor();
  await postUntil("the edge to answer 410", 410, s.urlWithKey);
  await page.reload();
  await row(page, s.id).getByText("inactive", { exact: true }).waitFor();
  // By keyboard: Enter opens the row's menu, Escape closes it, Tab reaches its first action.
  const summary = row(page, s.id).getByText("Actions", { exact: true });
  await summary.focus();
  await page.keyboard.press("Enter");
  const activate = row(page, s.id).getByRole("button", { name: "Activate", exact: true });
  await activate.waitFor();
  await page.keyboard.press("Escape");
  await activate.waitFor({ state: "hidden" });
  assert.equal(await summary.evaluate((el) => el === document.activeElement), true, "focus back on the menu");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  assert.equal(await activate.evaluate((el) => el === document.activeElement), true, "Tab reaches the first action");
  await page.keyboard.press("Enter");
  await row(page, s.id).getByText("active", { exact: true }).waitFor();
  await postUntil("the edge to accept again", 200, s.urlWithKey);
});

test("rotating the key with no grace shows a new key once, and the old one stops", async () => {
  const { page } = b;
  await rowAction(page, s.id, "Rotate key");
  const dialog = page.getByRole("dialog", { name: `Rotate the key of ${name}` });
  await dialog.getByLabel("None: the old one stops now").check();
  await dialog.getByLabel("Custom").check();
  await dialog.getByLabel("Custom grace period").fill("45 days");
  await dialog.getByRole("button", { name: "Rotate key" }).click();
  assert.match(await fieldError(page, dialog.getByLabel("Custom grace period")), /not a duration|at most 30 days/);
  await dialog.getByLabel("Custom grace period").fill("31d");
  await dialog.getByRole("button", { name: "Rotate key" }).click();
  assert.match(await fieldError(page, dialog.getByLabel("Custom grace period")), /at most 30 days/);
  await dialog.getByLabel("None: the old one stops now").check();
  await dialog.getByRole("button", { name: "Rotate key" }).click();
  const group = dialog.getByRole("group", { name: "New URL with key" });
  await group.waitFor();
  const fresh = await group.getByTestId("secret-value").textContent();
  assert.notEqual(fresh, s.urlWithKey);
  assert.ok(fresh.startsWith(`${s.url}?key=hgk_`), fresh);
  await dialog.getByText("The previous key no longer works.").waitFor();
  await shot(page, "16-rotate-key");
  await dialog.getByRole("button", { name: "Done" }).click();
  await postUntil("the edge to refuse the old key", 401, s.urlWithKey);
  assert.equal((await post(fresh)).status, 200);
  s.urlWithKey = fresh;
});

test("the detail page replaces a provider secret, and calls signed with the new one are accepted", async () => {
  const { page } = b;
  const gh = await rpc(dev, "hookgate.v1.InboundWebhookService/CreateWebhook", {
    webhook: {
      tenant,
      name: "GitHub repo",
      provider: "PROVIDER_GITHUB",
      providerSecrets: { secret: "old-secret" },
      bindings: [{ processId: "ci", trigger: "TRIGGER_START_PROCESS" }],
    },
  });
  const url = gh.urlWithKey;
  const body = JSON.stringify({ zen: "Keep it logically awesome." });
  const sig = (secret) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
  await postUntil("the edge to know the GitHub webhook", 200, url, body, { "X-Hub-Signature-256": sig("old-secret") });

  await go(page, `webhooks/${gh.webhook.id}`);
  await page.getByRole("heading", { name: "GitHub repo", level: 1 }).waitFor();
  assert.match(await page.locator("dl.props").nth(1).textContent(), /secret\s*\(set, write-only\)/);
  await page.getByRole("button", { name: "Reset provider secret" }).click();
  const dialog = page.getByRole("dialog", { name: "Reset a provider secret of GitHub repo" });
  await dialog.getByLabel("New value").fill("new-secret");
  await dialog.getByLabel("None: the old one stops now").check();
  await dialog.getByRole("button", { name: "Replace secret" }).click();
  await page.getByRole("status").filter({ hasText: "secret replaced; the previous value no longer verifies" }).waitFor();
  await postUntil("the edge to verify the new secret", 200, url, body, { "X-Hub-Signature-256": sig("new-secret") });
  assert.equal((await post(url, body, { "X-Hub-Signature-256": sig("old-secret") })).status, 401);

  // That refusal is listed on the detail page, with its precise reason and the signature redacted.
  const rows = page.locator("tr[data-failed]");
  await until("the failure on the detail page", async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator(".failed-list[aria-busy=false]").waitFor();
    return (await rows.count()) === 1;
  });
  assert.match(await rows.first().textContent(), /signature_mismatch/);
  await rows.first().getByRole("button", { name: "Details" }).click();
  assert.match(await page.locator("tr.more").textContent(), /x-hub-signature-256\s*REDACTED/i);
  await shot(page, "15-webhook-detail");
});

test("delete asks first, then the URL answers 404", async () => {
  const { page } = b;
  await go(page, "webhooks");
  await rowAction(page, s.id, "Delete");
  const dialog = page.getByRole("dialog", { name: `Delete webhook ${name}?` });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "hidden" });
  await row(page, s.id).waitFor();
  await rowAction(page, s.id, "Delete");
  await dialog.getByRole("button", { name: "Delete webhook" }).click();
  await row(page, s.id).waitFor({ state: "detached" });
  await postUntil("the edge to forget the webhook", 404, s.urlWithKey);
  assert.deepEqual(b.consoleErrors, []);
  for (const u of b.urls) assert.ok(!u.includes(dev.token), `token in a URL: ${u}`);
});
