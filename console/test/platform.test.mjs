// The platform pages, end to end: the built binary's `hookgate dev` and the
// console in Chromium, signed in with the platform token. Tenants: a
// refused id shows the API's error next to the field, a created tenant is
// chosen in the picker at once, and delete asks for the id to be typed.
// Fleet: the edge and the dispatcher are listed, and the chart of edge
// requests shows calls made while it is open. The tests run in order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, rpc, shot, signIn, startDev, until } from "./harness.mjs";

let dev, b;

// fieldError is the error text tied to a control by aria-describedby.
async function fieldError(page, control) {
  await until("an error on the field", async () => (await control.getAttribute("aria-invalid")) === "true", 10000);
  const ids = (await control.getAttribute("aria-describedby")).split(" ").filter((i) => i.endsWith("-err"));
  assert.equal(ids.length, 1, "one error tied to the field");
  return page.locator(`[id="${ids[0]}"]`).textContent();
}

// picker is the header's tenant picker.
const picker = (page) => page.locator(".tenant-picker select");

function go(page, path) {
  return page.goto(`${dev.admin}/console/#/${path}`);
}

before(async () => {
  dev = await startDev();
  b = await launch();
  await signIn(b.page, dev.admin, dev.token);
});

after(async () => {
  await b?.close();
  await dev?.stop();
});

test("with no tenant yet, the console points to the Tenants page", async () => {
  const { page } = b;
  await go(page, "webhooks");
  await page.getByText("There is no tenant yet.").waitFor();
  await page.getByRole("link", { name: "Create one" }).click();
  await page.getByRole("heading", { name: "Tenants", level: 1 }).waitFor();
});

test("a tenant is created on the Tenants page and chosen in the picker", async () => {
  const { page } = b;
  const form = page.getByRole("form", { name: "New tenant" });
  await form.getByLabel("Tenant id").fill("Not A Slug");
  await form.getByRole("button", { name: "Create tenant" }).click();
  assert.match(await fieldError(page, form.getByLabel("Tenant id")), /"Not A Slug" is not a tenant slug/);

  await form.getByLabel("Tenant id").fill("globex");
  await form.getByLabel("Display name").fill("Globex Corporation");
  await form.getByRole("button", { name: "Create tenant" }).click();
  const row = page.locator('tr[data-tenant="globex"]');
  await row.waitFor();
  assert.match(await row.textContent(), /Globex Corporation/);
  await until("the picker to choose globex", async () => (await picker(page).inputValue()) === "globex");
  assert.equal(await form.getByLabel("Tenant id").inputValue(), "", "the form is empty again");

  // The same id again is refused next to the id.
  await form.getByLabel("Tenant id").fill("globex");
  await form.getByRole("button", { name: "Create tenant" }).click();
  assert.match(await fieldError(page, form.getByLabel("Tenant id")), /already exists/);

  await form.getByLabel("Tenant id").fill("initech");
  await form.getByLabel("Display name").fill("Initech");
  await form.getByRole("button", { name: "Create tenant" }).click();
  await page.locator('tr[data-tenant="initech"]').waitFor();
  await until("the picker to choose initech", async () => (await picker(page).inputValue()) === "initech");
  await form.getByLabel("Tenant id").fill("");
  await shot(page, "31-tenants");
});

test("deleting a tenant asks for its id first", async () => {
  const { page } = b;
  await page.getByRole("button", { name: "Delete tenant initech" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete tenant initech?" });
  const confirm = dialog.getByRole("button", { name: "Delete tenant" });
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel("Type initech to confirm").fill("initec");
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel("Type initech to confirm").fill("initech");
  await shot(page, "32-tenant-delete");
  await confirm.click();
  await page.locator('tr[data-tenant="initech"]').waitFor({ state: "detached" });
  const { tenants } = await rpc(dev, "hookgate.v1.TenantService/ListTenants", {});
  assert.deepEqual(tenants.map((t) => t.id), ["globex"]);
  await until("the picker to fall back to globex", async () => (await picker(page).inputValue()) === "globex");
});

test("the fleet lists the edge and the dispatcher, and charts the edge's requests", async () => {
  const { page } = b;
  // Calls for the chart: accepted ones and refused ones (a wrong key).
  const created = await rpc(dev, "hookgate.v1.InboundWebhookService/CreateWebhook", {
    webhook: { tenant: "globex", name: "Fleet load", provider: "PROVIDER_GENERIC", bindings: [{ processId: "load", trigger: "TRIGGER_START_PROCESS" }] },
  });
  await go(page, "fleet");
  const nodes = page.locator("tr[data-node]");
  await until("an edge and a dispatcher", async () => (await nodes.count()) === 2);
  const text = await page.locator("table.nodes").textContent();
  assert.match(text, /edge/);
  assert.match(text, /dispatcher/);
  const edge = nodes.filter({ hasText: "edge" });
  assert.match(await edge.textContent(), new RegExp(dev.edge.replace(/^http:\/\//, "").replace(/\./g, "\\.")), "the edge's address");
  assert.match(await page.getByRole("definition").first().textContent(), /^1$/, "one edge");

  // Load while the page samples ListNodes: the accepted rate rises above 0.
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      await fetch(created.urlWithKey, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ i }) });
      if (i % 4 === 0) await fetch(`${created.webhook.url}?key=hgk_wrong`, { method: "POST", body: "{}" });
    }
  })();
  try {
    const accepted = page.locator('li[data-outcome="accepted"] strong');
    await until(
      "a non-zero accepted rate",
      async () => {
        const t = await accepted.textContent();
        return t !== "—" && Number(t.replace(/,/g, "")) > 0;
      },
      90000,
    );
    await until("a non-zero auth rejection rate", async () => {
      const t = await page.locator('li[data-outcome="rejectedAuth"] strong').textContent();
      return t !== "—" && Number(t.replace(/,/g, "")) > 0;
    });
  } finally {
    stop = true;
    await load;
  }
  await until("a drawn band", async () => (await page.locator("svg.chart path").count()) > 0);
  await shot(page, "30-fleet");
  assert.deepEqual(b.consoleErrors, []);
});
