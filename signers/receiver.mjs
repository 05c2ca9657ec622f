// receiver.mjs is an outbound endpoint for the e2e tests: it verifies every
// request with the standardwebhooks npm package, unchanged, and answers 200
// only when the signature verifies (401 otherwise). It listens on
// 127.0.0.1 on a free port, prints {"port":N} as its first stdout line,
// and one JSON line per request: {"path","id","verified"}. The secrets
// (whsec_…) are per path, read on every request from the file named by
// RECEIVER_SECRETS_FILE: JSON {"/path": "whsec_…"} (the test writes it once
// it has created the endpoints, which need the port first).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

function secretsNow() {
  try {
    return JSON.parse(readFileSync(process.env.RECEIVER_SECRETS_FILE, 'utf8'));
  } catch {
    return {};
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const secret = secretsNow()[req.url];
    let verified = false;
    if (secret) {
      try {
        new Webhook(secret).verify(body, {
          'webhook-id': req.headers['webhook-id'] ?? '',
          'webhook-timestamp': req.headers['webhook-timestamp'] ?? '',
          'webhook-signature': req.headers['webhook-signature'] ?? '',
        });
        verified = true;
      } catch {
        verified = false;
      }
    }
    process.stdout.write(JSON.stringify({ path: req.url, id: req.headers['webhook-id'] ?? '', verified }) + '\n');
    res.writeHead(verified ? 200 : 401, { 'Content-Type': 'text/plain' });
    res.end(verified ? 'ok' : 'signature did not verify');
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
