import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import {
  addressVerdict,
  createAllowlist,
  urlVerdict,
  type Allowlist,
  type DeniedRange,
} from '../domain/outbound';

/**
 * Thrown when a request may not go where it was sent: a refused scheme, credentials in the URL, or
 * a host that is (or resolves to) an address in a denied range (domain/outbound.ts). Names the rule,
 * never the URL.
 */
export class OutboundRefusedError extends Error {
  readonly code = 'OUTBOUND_REFUSED';
  constructor(
    /** `scheme` also stands for a string that is not a URL at all. */
    readonly reason: 'scheme' | 'credentials' | 'address',
    readonly range?: DeniedRange,
  ) {
    super(
      reason === 'address'
        ? `destination is a ${range} address`
        : `destination refused (${reason})`,
    );
    this.name = 'OutboundRefusedError';
  }
}

/** Thrown when the whole exchange (connect, request, response body) takes longer than its deadline. */
export class OutboundTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Thrown when the response body is larger than the client reads. */
export class OutboundResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`response body over ${maxBytes} bytes`);
    this.name = 'OutboundResponseTooLargeError';
  }
}

/** One answer, body read in full (within the bound). Redirects are answers too: they are never followed. */
export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OutboundHttpOptions {
  /** Refuse plain http (production). */
  httpsOnly: boolean;
  /** CIDRs this client may reach despite the denied ranges (an operator's allowlist). */
  allow: readonly string[];
  /** Deadline of one exchange, connect to last body byte. Default 10 000 ms. */
  timeoutMs?: number;
  /** Largest response body read. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Name resolution; default `dns.lookup`. Tests pass one that answers as a rebinding DNS server would. */
  lookup?: typeof dnsLookup;
}

/** The one way the app makes outbound HTTP requests (see {@link createOutboundHttp}). */
export interface OutboundHttp {
  post(
    url: string,
    init: { headers: Record<string, string>; body: string; timeoutMs?: number },
  ): Promise<OutboundResponse>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A guarded HTTP client for every request whose destination the app does not fully control: client
 * callbacks, HTTP carriers, anomaly webhooks. It
 *  - refuses a URL with a refused scheme (http in production), credentials, or an IP-literal /
 *    `localhost` host in a denied range, before connecting;
 *  - checks every address a host name resolves to *in the connection's own lookup*, so the address
 *    judged is the address connected to (a DNS answer that changes between a check and the connect,
 *    "DNS rebinding", cannot slip past), and checks the socket's peer address once connected;
 *  - never follows redirects (a 3xx is returned as it is);
 *  - reads at most `maxResponseBytes` of body and gives up after `timeoutMs` in all.
 * Keep-alive connections are pooled per client, so one client's allowlist never lends its
 * connections to another's requests.
 */
export function createOutboundHttp(options: OutboundHttpOptions): OutboundHttp {
  const allow: Allowlist = createAllowlist(options.allow);
  const policy = { httpsOnly: options.httpsOnly, allow };
  const resolve = options.lookup ?? dnsLookup;
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024;

  const guardedLookup = (hostname: string, opts: LookupOptions, callback: LookupCallback) => {
    resolve(hostname, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, []);
      // One denied answer refuses the host: a rebinding server mixes good and bad answers.
      for (const a of addresses) {
        const v = addressVerdict(a.address, allow);
        if (!v.ok) return callback(new OutboundRefusedError('address', v.range), []);
      }
      if (opts.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };

  const agents = {
    'http:': new HttpAgent({ keepAlive: true }),
    'https:': new HttpsAgent({ keepAlive: true }),
  };

  function post(
    url: string,
    init: { headers: Record<string, string>; body: string; timeoutMs?: number },
  ): Promise<OutboundResponse> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(new OutboundRefusedError('scheme'));
    }
    const refusal = urlVerdict(target, policy);
    if (refusal)
      return Promise.reject(
        new OutboundRefusedError(
          refusal.reason,
          refusal.reason === 'address' ? refusal.range : undefined,
        ),
      );
    const timeoutMs = init.timeoutMs ?? defaultTimeoutMs;
    const body = Buffer.from(init.body);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<OutboundResponse>((resolvePromise, reject) => {
      const req = send(target, {
        method: 'POST',
        headers: { ...init.headers, 'content-length': String(body.length) },
        agent: agents[target.protocol as 'http:' | 'https:'],
        lookup: guardedLookup as never,
      });
      // Settles once: the first failure wins, then the exchange is torn down.
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
        req.destroy();
      };
      const timer = setTimeout(() => fail(new OutboundTimeoutError(timeoutMs)), timeoutMs);
      req.on('error', fail);
      // The peer as connected: covers IP-literal hosts (no lookup runs for them) a second time.
      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) return;
        socket.once('connect', () => {
          const v = socket.remoteAddress ? addressVerdict(socket.remoteAddress, allow) : undefined;
          if (v && !v.ok) fail(new OutboundRefusedError('address', v.range));
        });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail(new OutboundResponseTooLargeError(maxBytes));
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
      });
      req.end(body);
    });
  }

  return {
    post,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
