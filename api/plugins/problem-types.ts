/**
 * The catalogue of problem types: what each `type` of an error answer means. Kept apart from the
 * error handler (`problem.ts`) because it is reference text, read by the OpenAPI document and by a
 * test that fails when a title thrown in the code is missing here.
 */

/**
 * Every problem type the API answers with (`type` is `urn:problem:` and the title's slug), with what
 * it means; the OpenAPI spec lists them, and a test fails when a title in the code is missing here.
 */
export const PROBLEM_TYPES: Readonly<Record<string, { status: number; description: string }>> = {
  'urn:problem:invalid-request': {
    status: 400,
    description: 'The body, path, query string or headers failed validation; `fields` names them',
  },
  'urn:problem:malformed-json': { status: 400, description: 'The body is not JSON' },
  'urn:problem:empty-json-body': {
    status: 400,
    description: 'A JSON body was announced but is empty',
  },
  'urn:problem:invalid-content-length': {
    status: 400,
    description: 'The Content-Length header does not match the body',
  },
  'urn:problem:invalid-content-type': {
    status: 400,
    description: 'The Content-Type header does not parse',
  },
  'urn:problem:missing-content-type': { status: 400, description: 'A body without a Content-Type' },
  'urn:problem:bad-url': { status: 400, description: 'The URL does not decode' },
  'urn:problem:bad-request': {
    status: 400,
    description: 'The request could not be read (malformed request line or headers)',
  },
  'urn:problem:invalid-recipient': {
    status: 400,
    description: '`to` is not a valid international mobile number (E.164, with +)',
  },
  'urn:problem:invalid-body': {
    status: 400,
    description: 'The message text holds characters that cannot be sent',
  },
  'urn:problem:message-too-long': {
    status: 400,
    description: 'The message text needs more segments than allowed',
  },
  'urn:problem:invalid-schedule': {
    status: 400,
    description: '`sendAt` or `validitySeconds` is out of range',
  },
  'urn:problem:invalid-number': {
    status: 400,
    description: 'A number is not a valid E.164 number',
  },
  'urn:problem:callback-url-not-allowed': {
    status: 400,
    description: '`callbackUrl` is not a URL, or points where the API may not call',
  },
  'urn:problem:invalid-receipt': {
    status: 400,
    description: 'A carrier webhook body is not a receipt the API understands',
  },
  'urn:problem:undecodable-payload': {
    status: 400,
    description: 'The codec could not decrypt a payload',
  },
  'urn:problem:unauthenticated': {
    status: 401,
    description: 'No API key or session, or an unknown, revoked or expired one',
  },
  'urn:problem:invalid-signature': {
    status: 401,
    description: 'A webhook signature is missing, wrong, stale or replayed',
  },
  'urn:problem:forbidden': {
    status: 403,
    description:
      "The key lacks the route's role, may not be used from this address, or belongs to another tenant than the client certificate",
  },
  'urn:problem:no-lease': {
    status: 403,
    description:
      'A review task is readable and decidable only while you hold its lease: claim it first',
  },
  'urn:problem:not-found': {
    status: 404,
    description: "No such route, or no such resource in the caller's tenant",
  },
  'urn:problem:nothing-to-claim': {
    status: 404,
    description: 'No review task waits to be claimed',
  },
  'urn:problem:method-not-allowed': {
    status: 405,
    description: 'The path exists with other methods (`Allow` lists them)',
  },
  'urn:problem:request-timeout': {
    status: 408,
    description: 'The request was not received in time',
  },
  'urn:problem:conflict': {
    status: 409,
    description: 'The resource already exists or changed meanwhile',
  },
  'urn:problem:idempotency-key-reused': {
    status: 409,
    description: 'The same `Idempotency-Key` came with a different request',
  },
  'urn:problem:already-final': {
    status: 409,
    description: 'The message has already reached a final status',
  },
  'urn:problem:already-submitted': {
    status: 409,
    description: 'The message was already handed to a carrier',
  },
  'urn:problem:unknown-message': {
    status: 409,
    description: 'No submitted message has this carrier id (yet); retry later',
  },
  'urn:problem:review-task-closed': {
    status: 410,
    description: 'The review task was completed; its content is gone',
  },
  'urn:problem:request-body-too-large': {
    status: 413,
    description: 'The body is larger than the API accepts',
  },
  'urn:problem:unsupported-media-type': {
    status: 415,
    description: 'Bodies are `application/json` only',
  },
  'urn:problem:country-blocked': {
    status: 422,
    description: "The destination country is blocked by the tenant's sending policy",
  },
  'urn:problem:price-unknown': {
    status: 422,
    description:
      'No price is known for this destination, so a spend cap or `maxPrice` cannot be honoured',
  },
  'urn:problem:price-above-maxprice': {
    status: 422,
    description: 'The message would cost more than `maxPrice`',
  },
  'urn:problem:spend-cap-reached': {
    status: 422,
    description: "The tenant's monthly spend cap would be exceeded",
  },
  'urn:problem:no-callback-signing-secret': {
    status: 422,
    description: 'A `callbackUrl` needs a tenant callback secret (`POST /v1/callback-secrets`)',
  },
  'urn:problem:too-many-requests': {
    status: 429,
    description: 'Rate limit of the API key (or address); `Retry-After` says when to retry',
  },
  'urn:problem:send-quota-exceeded': {
    status: 429,
    description:
      "The tenant's daily send quota (per UTC day) is used up; `Retry-After` says when to retry",
  },
  'urn:problem:velocity-limit-reached': {
    status: 429,
    description:
      'The OTP velocity limit of the destination country is reached; `Retry-After` says when to retry',
  },
  'urn:problem:too-many-failed-authentications': {
    status: 429,
    description:
      'Too many failed authentications from this address; `Retry-After` says when to retry',
  },
  'urn:problem:request-header-fields-too-large': {
    status: 431,
    description: 'The request headers are too large',
  },
  'urn:problem:internal': {
    status: 500,
    description: 'An unexpected failure; the detail names the request id to find in the server log',
  },
  'urn:problem:service-unavailable': {
    status: 503,
    description: 'A dependency (PostgreSQL) is unreachable; `Retry-After` says when to retry',
  },
};

/** A problem title's slug: `Invalid request` → `invalid-request`. */
export const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '');
