// Signing in and out: a wrong token is refused next to its field, the
// right one is kept in sessionStorage only, and no request carries it in a
// URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, shot, signIn, startDev } from "./harness.mjs";

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
