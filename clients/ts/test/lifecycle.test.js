// Drives a running `hookgate dev` (the binary in $HOOKGATE_BIN, else
// ../../bin/hookgate) through the client: the inbound and the outbound
// lifecycle.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConnectError, Code } from "@connectrpc/connect";
import {
  createHookgate,
  createWebhook,
  deactivate,
  listAttempts,
  listFailures,
  rotateKey,
  sendMessage,
} from "../src/index.js";
import { AttemptStatus } from "../gen/hookgate/v1/attempt_pb.js";

const bin = process.env.HOOKGATE_BIN || resolve(import.meta.dirname, "../../../bin/hookgate");
let dev, dir, hg, admin, edge, token;

// until polls cond every 20 ms until it returns a truthy value, or fails
// after ms.
async function until(what, cond, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookgate-ts-"));
  dev = spawn(bin, ["dev", "--admin-addr", "127.0.0.1:0", "--edge-addr", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0",
    "--etcd-addr", "127.0.0.1:0", "--etcd-peer-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
    "--retry-time-scale", "0.001"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "", errOut = "";
  dev.stdout.on("data", (b) => (out += b));
  dev.stderr.on("data", (b) => (errOut += b));
  const exited = new Promise((_, reject) => dev.on("exit", (c) => reject(new Error(`hookgate dev exited ${c}: ${errOut}`))));
  await Promise.race([until("hookgate dev to print ready", () => out.includes("\nready\n"), 60000), exited]);
  const line = (name) => out.match(new RegExp(`^\\s+${name}\\s+(\\S+)`, "m"))?.[1];
  admin = line("admin API");
  edge = line("edge");
  token = line("admin token");
  assert.ok(admin && edge && token, `dev printed:\n${out}`);
  hg = createHookgate({ adminUrl: admin, edgeUrl: edge, token });
});

after(() => {
  dev?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a bad token is refused", async () => {
  const bad = createHookgate({ adminUrl: admin, token: "hga_not-a-token" });
  await assert.rejects(bad.tenants.listTenants({}), (e) => ConnectError.from(e).code === Code.Unauthenticated);
});

test("inbound: tenant, webhook, a call, rotate, deactivate, failures", async () => {
  const { tenant } = await hg.tenants.createTenant({ tenant: { id: "acme", displayName: "Acme" } });
  assert.equal(tenant.id, "acme");
  await assert.rejects(hg.tenants.createTenant({ tenant: { id: "acme" } }),
    (e) => ConnectError.from(e).code === Code.AlreadyExists);

  const created = await createWebhook(hg, "acme", { name: "orders", processId: "orders" });
  const id = created.webhook.id;
  assert.match(id, /^wh_/);
  assert.match(created.urlWithKey, /key=hgk_/);
  await until("the edge to accept the webhook", async () =>
    (await fetch(created.urlWithKey, { method: "POST", body: "{}" })).status === 200);

  const rotated = await rotateKey(hg, "acme", id, 0);
  assert.notEqual(rotated.apiKey, created.apiKey);
  await until("the edge to refuse the old key", async () =>
    (await fetch(created.urlWithKey, { method: "POST", body: "{}" })).status === 401);
  assert.equal((await fetch(created.urlWithKey, { method: "POST", body: "{}" })).status, 401);
  assert.equal((await fetch(rotated.urlWithKey, { method: "POST", body: "{}" })).status, 200);

  const off = await deactivate(hg, "acme", id);
  assert.equal(off.active, false);
  await until("the edge to refuse the inactive webhook", async () =>
    (await fetch(rotated.urlWithKey, { method: "POST", body: "{}" })).status === 410);

  const failures = await until("two failed triggers", async () => {
    const f = await listFailures(hg, "acme", id);
    return f.length >= 2 && f;
  });
  assert.equal(failures[0].reason, "bad_key");
  assert.equal(failures[0].webhookId, id);
});

test("outbound: app, event type, endpoint, message, attempts", async () => {
  const got = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  try {
    await hg.tenants.createTenant({ tenant: { id: "shop", allowHttpEndpoints: true } });
    const { application } = await hg.apps.createApplication({ application: { tenant: "shop", name: "Customer 42" } });
    await hg.eventTypes.createEventType({ eventType: { tenant: "shop", name: "order.created",
      // A google.protobuf.Struct field takes a plain JSON object.
      schema: { type: "object", required: ["id"] } } });
    const { endpoint } = await hg.endpoints.createEndpoint({ endpoint: { tenant: "shop", applicationId: application.id,
      url: `http://127.0.0.1:${receiver.address().port}/hooks`, eventTypes: ["order.created"] } });
    assert.match(endpoint.id, /^ep_/);

    // The edge takes the message once the new application reached it.
    const msg = await until("the edge to take the message", async () => {
      try {
        return await sendMessage(hg, { tenant: "shop", applicationId: application.id, eventType: "order.created",
          payload: { id: 1001, items: ["a"] }, eventId: "order-1001" });
      } catch (e) {
        if (ConnectError.from(e).code === Code.NotFound || ConnectError.from(e).code === Code.Unavailable) return undefined;
        throw e;
      }
    });
    assert.match(msg.id, /^msg_/);
    await assert.rejects(sendMessage(hg, { tenant: "shop", applicationId: application.id, eventType: "order.nope", payload: 5 }),
      (e) => ConnectError.from(e).code === Code.NotFound);
    // The schema is the edge's to enforce: a payload that is not an object is refused.
    await assert.rejects(sendMessage(hg, { tenant: "shop", applicationId: application.id, eventType: "order.created", payload: 5 }),
      (e) => ConnectError.from(e).code === Code.InvalidArgument);

    await until("the receiver to get the message", () => got.length >= 1);
    assert.ok(got[0].body.includes("1001"), got[0].body);
    const attempts = await until("a succeeded attempt", async () => {
      const a = await listAttempts(hg, { tenant: "shop", messageId: msg.id });
      return a.some((x) => x.status === AttemptStatus.SUCCEEDED) && a;
    });
    assert.equal(attempts[0].endpointId, endpoint.id);
    assert.equal(attempts[0].responseStatusCode, 204);
  } finally {
    receiver.close();
  }
});
