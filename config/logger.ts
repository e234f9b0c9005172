import pino, { type Logger, type LoggerOptions } from 'pino';
import { redactFreeText } from '../domain/masking';
import { CENSORED, isSensitiveKey } from './log-keys';

export type { Logger };

/**
 * Field paths whose values are personal data or secrets; pino replaces them before a line is written.
 * They reach only the depths they spell out: the key denylist of config/log-keys.ts, applied by
 * {@link redactLogObject} at any depth, is what censors such fields wherever they are. Everything
 * else goes through {@link redactLogObject} too, which masks what slips through inside strings.
 */
export const REDACT_PATHS = [
  'to',
  'from',
  'body',
  'text',
  'number',
  'phone',
  'msisdn',
  'recipient',
  'destination_addr',
  'source_addr',
  'short_message',
  'message_payload',
  'token',
  'secret',
  'password',
  'authorization',
  'callbackUrl',
  'webhookSecret',
  'apiKey',
  '*.to',
  '*.body',
  '*.text',
  '*.number',
  '*.phone',
  '*.msisdn',
  '*.recipient',
  '*.destination_addr',
  '*.short_message',
  '*.from',
  '*.source_addr',
  '*.message_payload',
  '*.callbackUrl',
  '*.webhookSecret',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.password',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

/** Deeper values are replaced by {@link TRUNCATED}: a log line is not a data dump. */
const MAX_DEPTH = 8;
/** At most this many objects and arrays are copied per log call, so a huge graph cannot stall a process. */
const MAX_NODES = 2_000;
const TRUNCATED = '[truncated]';
const CIRCULAR = '[circular]';

// Kept whole, since redactFreeText would take their 4–5 digit numbers for codes: a port in a URL
// authority (`http://localhost:7233/…`) and a stack frame's `:line:column`.
const KEPT = /((?<=:\/\/[A-Za-z0-9.-]+):\d{1,5}(?![0-9])|:\d{1,6}:\d{1,6}(?=\)|\n|$))/;

/** {@link redactFreeText}, keeping URL ports and stack positions whole. */
function redactString(text: string): string {
  if (!/[\p{Nd}@]/u.test(text)) return text; // nothing to mask: the common case, kept cheap
  return text
    .split(KEPT)
    .map((piece, i) => (i % 2 === 1 ? piece : redactFreeText(piece)))
    .join('');
}

/** Drops the query string and fragment of a URL or path, and masks numbers left in the path. */
function stripQuery(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  return redactString(url.replace(/[?#].*$/s, ''));
}

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  message?: unknown;
  code?: unknown;
  stack?: unknown;
  cause?: unknown;
}

/** The only fields of an error that reach a log line: never the raw object (carrier errors carry responses). */
export interface SerializedError {
  type: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: SerializedError;
}

function serializeError(err: unknown, depth = 0): SerializedError {
  if (err === null || typeof err !== 'object') {
    return { type: typeof err, message: redactString(String(err)) };
  }
  const e = err as ErrorLike;
  const type =
    err instanceof Error
      ? err.constructor.name || err.name
      : typeof e.type === 'string'
        ? e.type
        : typeof e.name === 'string'
          ? e.name
          : 'Object';
  const out: SerializedError = {
    type: redactString(type),
    message: typeof e.message === 'string' ? redactString(e.message) : '',
  };
  if (typeof e.code === 'string') out.code = redactString(e.code);
  else if (typeof e.code === 'number') out.code = e.code;
  if (typeof e.stack === 'string') out.stack = redactString(e.stack);
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

interface RequestLike {
  id?: unknown;
  method?: unknown;
  url?: unknown;
  originalUrl?: unknown;
}

/** A request in a log line: method, path without its query string, request id. No headers, no body. */
function serializeRequest(req: unknown): { method?: string; url?: string; id?: string | number } {
  if (req === null || typeof req !== 'object') return {};
  const r = req as RequestLike;
  const out: { method?: string; url?: string; id?: string | number } = {};
  if (typeof r.method === 'string') out.method = r.method;
  const url = stripQuery(typeof r.originalUrl === 'string' ? r.originalUrl : r.url);
  if (url !== undefined) out.url = url;
  if (typeof r.id === 'string') out.id = redactString(r.id);
  else if (typeof r.id === 'number') out.id = r.id;
  return out;
}

/** A response in a log line: its status code only. */
function serializeResponse(res: unknown): { statusCode?: number } {
  if (res === null || typeof res !== 'object') return {};
  const code = (res as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? { statusCode: code } : {};
}

const TOP_LEVEL_SERIALIZERS: Record<string, (value: unknown) => unknown> = {
  err: serializeError,
  error: serializeError,
  req: serializeRequest,
  res: serializeResponse,
};

function isHttpRequest(value: object): boolean {
  const v = value as { method?: unknown; headers?: unknown; socket?: unknown };
  return typeof v.method === 'string' && typeof v.headers === 'object' && v.socket !== undefined;
}

function isHttpResponse(value: object): boolean {
  const v = value as { statusCode?: unknown; setHeader?: unknown };
  return typeof v.statusCode === 'number' && typeof v.setHeader === 'function';
}

class Walker {
  private nodes = 0;
  private readonly ancestors = new Set<object>();

  constructor(root?: object) {
    if (root) this.ancestors.add(root);
  }

  value(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return redactString(value);
      case 'bigint':
        return redactString(value.toString());
      case 'object':
        return value === null ? null : this.object(value, depth);
      default:
        // Numbers (latencies, ports, counts), booleans, undefined; functions and symbols are dropped by JSON.
        return value;
    }
  }

  /** A field of an object at `depth`: censored whole when its name is on the key denylist (config/log-keys.ts). */
  field(key: string, value: unknown, depth: number): unknown {
    return isSensitiveKey(key) && value !== undefined ? CENSORED : this.value(value, depth + 1);
  }

  private object(value: object, depth: number): unknown {
    if (value instanceof Error) return serializeError(value);
    if (value instanceof Date) return value;
    // Raw bytes may spell a number in ASCII; never copied into a log line.
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      return `[binary ${value.byteLength} bytes]`;
    }
    if (isHttpRequest(value)) return serializeRequest(value);
    if (isHttpResponse(value)) return serializeResponse(value);
    if (this.ancestors.has(value)) return CIRCULAR;
    if (depth >= MAX_DEPTH || ++this.nodes > MAX_NODES) return TRUNCATED;

    this.ancestors.add(value);
    try {
      if (value instanceof Map) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of value) out[redactString(String(k))] = this.field(String(k), v, depth);
        return out;
      }
      if (value instanceof Set) return [...value].map((v) => this.value(v, depth + 1));
      if (Array.isArray(value)) return value.map((v: unknown) => this.value(v, depth + 1));
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        const json: unknown = toJSON.call(value);
        if (json !== value) return this.value(json, depth + 1);
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        out[redactString(key)] = this.field(key, (value as Record<string, unknown>)[key], depth);
      }
      return out;
    } finally {
      this.ancestors.delete(value);
    }
  }
}

/**
 * A copy of a log object that is safe to write: a field named on the key denylist
 * (config/log-keys.ts: `to`, `source_addr`, `callbackUrl`, `apiKey`, `*Secret`…) is `[redacted]` at
 * any depth, in objects and Maps alike; every other string (keys too) goes through
 * `redactFreeText` (phone numbers become `[number]`, e-mail addresses `[email]`, codes `••••`; message ids, UUIDs, ISO
 * timestamps, IPs and URL ports are kept), errors keep only type, message, code, stack and cause,
 * requests only method, path and id, responses only their status code, raw bytes only their
 * length. Numbers, booleans and dates are kept as they are. Cycles become `[circular]`, values
 * deeper than 8 levels `[truncated]`. The input is never modified.
 */
export function redactLogObject(obj: Record<string, unknown>): Record<string, unknown>;
export function redactLogObject(value: unknown): unknown;
export function redactLogObject(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new Walker().value(value, 0);
  }
  if (value instanceof Error || value instanceof Date || ArrayBuffer.isView(value)) {
    return new Walker().value(value, 0);
  }
  const walker = new Walker(value);
  // Well-known top-level keys get their whitelist first, so a raw request is never walked.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    const serializer = TOP_LEVEL_SERIALIZERS[key];
    out[redactString(key)] =
      serializer && v !== null && typeof v === 'object' ? serializer(v) : walker.field(key, v, 0);
  }
  return out;
}

function redactMessage(msg: unknown): unknown {
  return typeof msg === 'string' ? redactString(msg) : msg;
}

/** The one logger factory: every process (API, workers, simulators, scripts) builds its logger here. */
export function createLogger(
  name: string,
  level: LoggerOptions['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // Runs on the merging object before the serializers and the redaction of REDACT_PATHS.
      log: (obj) => redactLogObject(obj),
    },
    serializers: {
      err: serializeError,
      req: serializeRequest,
      res: serializeResponse,
      // pino passes the formatted message (after %s interpolation, or an error's own message when
      // none is given) through the serializer of its message key.
      msg: redactMessage,
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  // Child bindings (`log.child({ messageId })`) bypass formatters.log: redact them on the way in.
  // Children inherit from their parent, so this covers grandchildren too.
  type ChildFn = (this: unknown, bindings: pino.Bindings, options?: unknown) => unknown;
  const child = logger.child as ChildFn;
  const redactingChild: ChildFn = function (bindings, childOptions) {
    return child.call(this, redactLogObject(bindings), childOptions);
  };
  Object.defineProperty(logger, 'child', { value: redactingChild, writable: true });
  return logger;
}
