// sign.mjs signs webhook requests with the providers' own npm libraries, so
// the e2e tests prove the edge accepts what real providers send. It reads a
// JSON array of requests on stdin and writes a JSON array of the headers
// (and, for Twilio, the URL) to send with each, in the same order.
//
//   request: {provider, secret, body, url, id, timestamp (Unix seconds), params}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import Stripe from 'stripe';

const require = createRequire(import.meta.url);
const twilio = require('twilio');
const stripe = new Stripe('sk_test_unused');

async function signOne(r) {
  switch (r.provider) {
    case 'stripe':
      return { 'Stripe-Signature': stripe.webhooks.generateTestHeaderString({ payload: r.body, secret: r.secret, timestamp: r.timestamp }) };
    case 'github':
      return { 'X-Hub-Signature-256': await octokitSign(r.secret, r.body), 'X-GitHub-Delivery': r.id, 'X-GitHub-Event': 'push' };
    case 'standardwebhooks': {
      const secret = r.secret.startsWith('whsec_') ? r.secret.slice(6) : r.secret;
      const sig = new StandardWebhook(secret).sign(r.id, new Date(r.timestamp * 1000), r.body);
      return { 'webhook-id': r.id, 'webhook-timestamp': String(r.timestamp), 'webhook-signature': sig };
    }
    case 'svix': {
      const sig = new SvixWebhook(r.secret).sign(r.id, new Date(r.timestamp * 1000), r.body);
      return { 'svix-id': r.id, 'svix-timestamp': String(r.timestamp), 'svix-signature': sig };
    }
    case 'twilio':
      // Form body: the library signs the URL and the sorted POST params.
      return { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(r.secret, r.url, r.params || {}) };
    case 'twilio-json': {
      // JSON body: the URL carries bodySHA256, and the library signs the URL.
      const url = r.url + (r.url.includes('?') ? '&' : '?') + 'bodySHA256=' + twilio.getExpectedBodyHash(r.body);
      return { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(r.secret, url, {}), '@url': url };
    }
    default:
      throw new Error(`unknown provider ${r.provider}`);
  }
}

const requests = JSON.parse(readFileSync(0, 'utf8'));
const out = [];
for (const r of requests) out.push(await signOne(r));
process.stdout.write(JSON.stringify(out));
