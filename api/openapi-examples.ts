/**
 * One valid request per documented route, shown in /docs and prefilled by "Try it out": a body, and
 * a value for each path and query parameter. Kept in one place so the test
 * (test/e2e/openapi.test.ts) can check each against the route's own schema, and that no route
 * with a body or a path parameter lacks one. Numbers are test numbers (domain/test-numbers.ts) or
 * Ofcom's drama range: none is a real subscriber's.
 */
export interface RouteExample {
  body?: unknown;
  params?: Record<string, string>;
  querystring?: Record<string, string | number>;
}

const poolId = 'pool_01JD8X4Z6Y9W7V5T3R1Q0P2N4M';
const messageId = 'msg_01JD8X4Z6Y9W7V5T3R1Q0P2N4M';
const taskId = 'rev_01JD8X4Z6Y9W7V5T3R1Q0P2N4M';
const poolNumber = { id: poolId, number: '+447700900200' };

/** By `METHOD /route/:pattern`, as Fastify names the route. */
export const ROUTE_EXAMPLES: Readonly<Record<string, RouteExample>> = {
  'POST /v1/messages': {
    body: { to: '+447700900100', body: 'Your Acme login code is 123456', purpose: 'otp' },
  },
  'GET /v1/messages/:id': { params: { id: messageId } },
  'POST /v1/messages/:id/cancel': { params: { id: messageId } },
  'POST /v1/pools': {
    body: { name: 'uk-otp', country: 'GB', purpose: 'otp', strategy: 'lru' },
  },
  'GET /v1/pools/:id': { params: { id: poolId } },
  'POST /v1/pools/:id/numbers': {
    params: { id: poolId },
    body: { numbers: [{ number: '+447700900200', ratePerSecond: 10 }] },
  },
  'DELETE /v1/pools/:id/numbers/:number': { params: poolNumber },
  'POST /v1/pools/:id/numbers/:number/quarantine': {
    params: poolNumber,
    body: { reason: 'carrier reports filtering' },
  },
  'POST /v1/pools/:id/numbers/:number/release': { params: poolNumber },
  'PUT /v1/policy/countries/:country': {
    params: { country: 'NG' },
    body: { action: 'monitor', otpPerWindow: 100, overLimit: 'hold' },
  },
  'DELETE /v1/policy/countries/:country': { params: { country: 'NG' } },
  'PUT /v1/policy/spend-cap': { body: { monthlyCap: 500 } },
  'PUT /v1/prices/:carrier/:country': {
    params: { carrier: 'smpp-uk', country: 'GB' },
    body: { perSegment: 0.035 },
  },
  'DELETE /v1/prices/:carrier/:country': { params: { carrier: 'smpp-uk', country: 'GB' } },
  'GET /v1/usage': { querystring: { month: '2026-12' } },
  'POST /v1/callback-secrets': { body: { overlapSeconds: 86400 } },
  'POST /v1/subjects/erasure': { body: { number: '+447700900100' } },
  'GET /v1/subjects/erasure/:id': { params: { id: 'era_01JD8X4Z6Y9W7V5T3R1Q0P2N4M' } },
  'POST /v1/opt-outs': { body: { number: '+447700900100' } },
  'GET /v1/opt-outs': { querystring: { limit: 100 } },
  'DELETE /v1/opt-outs/:id': { params: { id: '42' } },
  'POST /v1/opt-outs/remove': { body: { number: '+447700900100' } },
  'PUT /v1/privacy-policy': {
    body: { retentionSeconds: { otp: 86400, transactional: 2592000, marketing: null } },
  },
  'POST /review/login': { body: { apiKey: 'sk_live_your_reviewer_key' } },
  'POST /review/tasks/claim': { body: {} },
  'GET /review/tasks/:id': { params: { id: taskId } },
  'POST /review/tasks/:id/complete': {
    params: { id: taskId },
    body: { verdict: 'approve', reasonCode: 'ok' },
  },
  'POST /review/tasks/:id/release': { params: { id: taskId } },
  'PUT /v1/review-policies': {
    body: { mode: 'pre_send', sampleRate: 0.05, slaSeconds: 600, defaultDecision: 'approve' },
  },
  'DELETE /v1/review-policies': { querystring: { campaign: 'spring-sale' } },
  'POST /v1/carriers/:name/receipts': { params: { name: 'http-eu' } },
};
