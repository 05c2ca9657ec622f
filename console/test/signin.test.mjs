// Signing in and out: a wrong token is refused next to its field, the
// right one is kept in sessionStorage only, and no request carries it in a
// URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, rpc, shot, signIn, startDev } from "./harness.mjs";

let dev, b;

before(async () => {
  dev = await startDev();
  b = await launch();
});

after(async () => {
  await b?.close();
  await dev?.stop();
});

test("a wrong token is refused next to its field", async () => {
  const { page } = b;
  await page.goto(`${dev.admin}/console/`);
  await shot(page, "01-sign-in");
  await page.getByLabel("Admin token").fill("hga_not-a-real-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  const err = page.locator("#token-err");
  await err.waitFor();
  assert.equal(await err.textContent(), "That token was not accepted.");
  assert.equal(await page.getByLabel("Admin token").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("hookgate.token")), null);
});

test("the right token signs in, stays out of URLs, and signing out forgets it", async () => {
  const { page, urls } = b;
  await signIn(page, dev.admin, dev.token);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("hookgate.token")), dev.token);
  assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");
  await page.getByText("platform token").waitFor();
  // A reload of the tab keeps the session.
  await page.reload();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  for (const u of urls) assert.ok(!u.includes(dev.token), `token in a URL: ${u}`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Admin token").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("hookgate.token")), null);
});

test("the console's answers carry its security headers", async () => {
  const res = await fetch(`${dev.admin}/console/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
});

test("a tenant token sees its own tenant only, and no platform pages", async () => {
  await rpc(dev, "hookgate.v1.TenantService/CreateTenant", { tenant: { id: "acme", displayName: "Acme" } });
  await rpc(dev, "hookgate.v1.TenantService/CreateTenant", { tenant: { id: "globex", displayName: "Globex" } });
  const { token } = await rpc(dev, "hookgate.v1.TenantService/CreateAdminToken", { tenant: "globex", description: "console test" });
  const { page } = b;
  await signIn(page, dev.admin, token);
  await page.getByText("tenant token").waitFor();
  const picker = page.getByRole("combobox", { name: "Tenant" });
  assert.deepEqual(await picker.locator("option").allTextContents(), ["globex"]);
  const nav = page.getByRole("navigation", { name: "Main" });
  assert.equal(await nav.getByRole("link", { name: "Fleet" }).count(), 0);
  assert.equal(await nav.getByRole("link", { name: "Tenants" }).count(), 0);
  // Typing a platform page's address does not open it either.
  await page.goto(`${dev.admin}/console/#/fleet`);
  await page.getByText("No such page.").waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Admin token").waitFor();
});

test("a producer token, which may only send messages, is told so", async () => {
  const { token } = await rpc(dev, "hookgate.v1.TenantService/CreateAdminToken", { tenant: "acme", kind: "ADMIN_TOKEN_KIND_PRODUCER" });
  const { page } = b;
  await page.goto(`${dev.admin}/console/`);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  const err = page.locator("#token-err");
  await err.waitFor();
  assert.match(await err.textContent(), /producer|permission|admin/i);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("hookgate.token")), null);
});
