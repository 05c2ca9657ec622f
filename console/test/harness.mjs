// The browser tests' harness: a `hookgate dev` of the built binary
// ($HOOKGATE_BIN, else ../bin/hookgate) on random loopback ports, and
// Debian's Chromium driven by playwright-core. Screenshots go to
// test-output/screenshots/ (HOOKGATE_SCREENSHOTS overrides).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.HOOKGATE_BIN || resolve(import.meta.dirname, "../../bin/hookgate");
export const shots = process.env.HOOKGATE_SCREENSHOTS || resolve(import.meta.dirname, "../test-output/screenshots");

// until polls cond every 25 ms until it returns a truthy value, or throws
// after ms.
export async function until(what, cond, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// startDev starts hookgate dev and returns its addresses and admin token.
export async function startDev(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "hookgate-console-"));
  const proc = spawn(
    bin,
    [
      "dev",
      "--admin-addr", "127.0.0.1:0",
      "--edge-addr", "127.0.0.1:0",
      "--ops-addr", "127.0.0.1:0",
      "--etcd-addr", "127.0.0.1:0",
      "--etcd-peer-addr", "127.0.0.1:0",
      "--nats-addr", "127.0.0.1:0",
      "--retry-time-scale", "0.001",
      ...extraArgs,
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let errOut = "";
  proc.stdout.on("data", (b) => (out += b));
  proc.stderr.on("data", (b) => (errOut += b));
  const exited = new Promise((_, reject) =>
    proc.on("exit", (c) => reject(new Error(`hookgate dev exited ${c}: ${errOut.slice(-4000)}`))),
  );
  exited.catch(() => {});
  await Promise.race([until("hookgate dev to print ready", () => out.includes("\nready\n"), 90000), exited]);
  const line = (name) => out.match(new RegExp(`^\\s+${name}\\s+(\\S+)`, "m"))?.[1];
  const dev = {
    admin: line("admin API"),
    edge: line("edge"),
    token: line("admin token"),
    stdout: () => out,
    stderr: () => errOut,
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!dev.admin || !dev.edge || !dev.token) throw new Error(`hookgate dev printed:\n${out}`);
  return dev;
}

// launch starts headless Chromium (Debian's, at $CHROMIUM or
// /usr/bin/chromium) with the flags this machine's closed network needs,
// and opens a 1280×720 page: the smallest laptop screen the console is
// made for.
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  // Every request the page makes, to check that no token is ever in a URL.
  const urls = [];
  page.on("request", (r) => urls.push(r.url()));
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  return {
    browser,
    context,
    page,
    urls,
    consoleErrors,
    async close() {
      // launch() gives the browser a temporary profile and removes it.
      await browser.close();
    },
  };
}

// shot saves a full-page screenshot as <name>.png.
export async function shot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// signIn opens the console and signs in with token.
export async function signIn(page, admin, token) {
  await page.goto(`${admin}/console/`);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

// rpc calls an admin method with Connect's JSON form, as a test's own
// set-up or check (what a test asserts about the page goes through the
// page). method is "hookgate.v1.TenantService/CreateTenant".
export async function rpc(dev, method, body = {}) {
  const res = await fetch(`${dev.admin}/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${dev.token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}
