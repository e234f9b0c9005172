import type { Logger } from 'pino';
import { missingVaultAuth, vaultAuthFor, type Config, type VaultAuth } from '../config/config';
import type { VaultIdentity } from '../config/stack';

/** Thrown when Vault answers an error, or a batch item failed. Carries the HTTP status and Vault's error strings (never the input). */
export class VaultError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly path: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export interface VaultClientOptions {
  addr: string;
  auth: VaultAuth | undefined;
  /** Mount path of the transit engine (default `transit`). */
  mount: string;
  timeoutMs: number;
  log: Logger;
  /**
   * Transit calls for the same operation and key arriving within this many ms share one request
   * (default 2; 0 sends each call alone). Adds at most this much latency, saves a round trip per call.
   */
  coalesceMs?: number;
  /** Most items in one coalesced request (default 250). */
  maxBatch?: number;
  /** Called once per HTTP request with its operation (`transit/encrypt`, `login`, …): the Vault-latency metric. */
  observe?: (operation: string, seconds: number, ok: boolean) => void;
}

/** A low-cardinality name for a Vault path: no key names, no ids. */
export function vaultOperation(path: string, transitMount: string): string {
  const [engine, op] = path.split('/');
  if (engine === 'auth') return 'login';
  if (engine === transitMount && op) return `transit/${op}`;
  return engine === 'sys' && op ? `sys/${op}` : 'other';
}

interface BatchCaller {
  items: readonly Record<string, string>[];
  field: string;
  resolve: (values: unknown[]) => void;
  reject: (err: Error) => void;
}

interface PendingBatch {
  callers: BatchCaller[];
  size: number;
  timer?: NodeJS.Timeout;
}

interface Token {
  value: string;
  /** Epoch ms after which we log in again (before the real expiry). */
  renewAfter: number;
}

/**
 * A small typed client over Vault's HTTP API (transit + AppRole), which OpenBao answers identically.
 * Written by hand rather than `node-vault` because that package's types are `any` and it hides the
 * per-item errors of transit batches. Counts its requests so the benchmark can report Vault calls per message.
 */
export class VaultClient {
  /** Number of HTTP requests sent (including logins). */
  requests = 0;
  private token: Token | undefined;
  private readonly pending = new Map<string, PendingBatch>();
  private login: Promise<Token> | undefined;

  constructor(private readonly opts: VaultClientOptions) {}

  private async send(
    method: string,
    path: string,
    body: unknown,
    token?: string,
  ): Promise<Record<string, unknown>> {
    const attempt = () => {
      this.requests++;
      return fetch(`${this.opts.addr}/v1/${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { 'X-Vault-Token': token } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    };
    const started = process.hrtime.bigint();
    const observe = (ok: boolean) =>
      this.opts.observe?.(
        vaultOperation(path, this.opts.mount),
        Number(process.hrtime.bigint() - started) / 1e9,
        ok,
      );
    let res: Response;
    try {
      try {
        res = await attempt();
      } catch (err) {
        // A pooled keep-alive socket to a Vault that restarted fails once with "other side closed"; every
        // call here is safe to repeat (transit is stateless), so one fresh attempt is honest. Timeouts are not retried.
        if ((err as Error).name === 'TimeoutError') throw err;
        res = await attempt();
      }
    } catch (err) {
      observe(false);
      throw err;
    }
    observe(res.ok);
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!res.ok) {
      const errors = Array.isArray(json.errors)
        ? (json.errors as string[]).join('; ')
        : res.statusText;
      throw new VaultError(`Vault ${method} ${path}: ${res.status} ${errors}`, res.status, path);
    }
    return json;
  }

  private async currentToken(): Promise<string> {
    const auth = this.opts.auth;
    if (!auth) throw missingVaultAuth();
    if (auth.kind === 'token') return auth.token;
    if (this.token && Date.now() < this.token.renewAfter) return this.token.value;
    this.login ??= this.send('POST', 'auth/approle/login', {
      role_id: auth.roleId,
      secret_id: auth.secretId,
    })
      .then((r) => {
        const a = r.auth as { client_token: string; lease_duration: number };
        const token = {
          value: a.client_token,
          renewAfter: Date.now() + a.lease_duration * 1000 * 0.8,
        };
        this.token = token;
        return token;
      })
      .finally(() => {
        this.login = undefined;
      });
    return (await this.login).value;
  }

  /** An authenticated request; on 403 (token revoked or expired early) logs in once more and retries. */
  async request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    try {
      return await this.send(method, path, body, await this.currentToken());
    } catch (err) {
      if (err instanceof VaultError && err.status === 403 && this.opts.auth?.kind === 'approle') {
        this.token = undefined;
        return this.send(method, path, body, await this.currentToken());
      }
      throw err;
    }
  }

  private transit(op: string, key: string) {
    return `${this.opts.mount}/${op}/${encodeURIComponent(key)}`;
  }

  /**
   * Every transit batch call goes through here: calls for the same operation and key that arrive
   * within `coalesceMs` of each other (concurrent activities) share one `batch_input` request, up to
   * `maxBatch` items. Each caller gets its own slice, and fails alone if one of its items failed.
   */
  private coalesced(
    path: string,
    items: readonly Record<string, string>[],
    field: string,
  ): Promise<unknown[]> {
    const window = this.opts.coalesceMs ?? 2;
    if (window <= 0)
      return this.flushBatch(
        path,
        [{ items, field, resolve: () => undefined, reject: () => undefined }],
        true,
      );
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(path);
      if (!batch) {
        batch = { callers: [], size: 0 };
        this.pending.set(path, batch);
        const b = batch;
        b.timer = setTimeout(() => this.dispatch(path, b), window);
      }
      batch.callers.push({ items, field, resolve, reject });
      batch.size += items.length;
      if (batch.size >= (this.opts.maxBatch ?? 250)) {
        clearTimeout(batch.timer);
        this.dispatch(path, batch);
      }
    });
  }

  private dispatch(path: string, batch: PendingBatch): void {
    if (this.pending.get(path) === batch) this.pending.delete(path);
    this.flushBatch(path, batch.callers, false).catch(() => undefined);
  }

  private async flushBatch(
    path: string,
    callers: BatchCaller[],
    direct: boolean,
  ): Promise<unknown[]> {
    try {
      const r = await this.request('POST', path, {
        batch_input: callers.flatMap((c) => c.items),
        partial_failure_response_code: 200,
      });
      const results =
        ((r.data as { batch_results?: Record<string, unknown>[] }) ?? {}).batch_results ?? [];
      let offset = 0;
      let mine: unknown[] = [];
      for (const c of callers) {
        const slice = results.slice(offset, offset + c.items.length);
        offset += c.items.length;
        const failed = slice.filter((i) => i.error);
        if (failed.length || slice.length !== c.items.length) {
          const err = new VaultError(
            `Vault ${path}: ${failed.length} of ${c.items.length} batch items failed: ${String(failed[0]?.error ?? 'missing results')}`,
            400,
            path,
          );
          if (direct) throw err;
          c.reject(err);
          continue;
        }
        mine = slice.map((i) => i[c.field]);
        c.resolve(mine);
      }
      return mine;
    } catch (err) {
      if (direct) throw err;
      for (const c of callers) c.reject(err as Error);
      return [];
    }
  }

  /** Encrypts the items (coalesced with concurrent calls into one `batch_input`); throws if any of them failed. Returns `vault:vN:…` ciphertexts in order. */
  async encryptBatch(key: string, plaintexts: readonly Buffer[]): Promise<string[]> {
    const out = await this.coalesced(
      this.transit('encrypt', key),
      plaintexts.map((p) => ({ plaintext: p.toString('base64') })),
      'ciphertext',
    );
    return out as string[];
  }

  /** Decrypts the ciphertexts (any key version Vault still holds; coalesced like encrypt); throws if any of them failed. */
  async decryptBatch(key: string, ciphertexts: readonly string[]): Promise<Buffer[]> {
    const out = await this.coalesced(
      this.transit('decrypt', key),
      ciphertexts.map((c) => ({ ciphertext: c })),
      'plaintext',
    );
    return (out as string[]).map((p) => Buffer.from(p, 'base64'));
  }

  /** HMAC-SHA256 of each input under a transit key (coalesced like encrypt): `vault:vN:<base64>`. Stable for a key version. */
  async hmacBatch(key: string, inputs: readonly Buffer[]): Promise<string[]> {
    const out = await this.coalesced(
      `${this.transit('hmac', key)}/sha2-256`,
      inputs.map((i) => ({ input: i.toString('base64') })),
      'hmac',
    );
    return out as string[];
  }

  /**
   * One HMAC-SHA256 under a transit key at a given key version (default: the latest), sent alone (not
   * coalesced: the version is per request). For keys derived once and cached (encryption/derived-keys.ts).
   */
  async hmacAt(key: string, input: Buffer, keyVersion?: number): Promise<string> {
    const r = await this.request('POST', `${this.transit('hmac', key)}/sha2-256`, {
      input: input.toString('base64'),
      ...(keyVersion === undefined ? {} : { key_version: keyVersion }),
    });
    return (r.data as { hmac: string }).hmac;
  }

  /**
   * A fresh 256-bit data key from transit (`datakey/plaintext`): the key itself and its form wrapped
   * under `key` (`vault:vN:…`, what is stored next to the data). One call, and it needs no decrypt
   * permission: the API seals under region keys it may not open.
   */
  async plaintextDataKey(key: string): Promise<{ key: Buffer; wrapped: string }> {
    const r = await this.request(
      'POST',
      `${this.transit('datakey', 'plaintext')}/${encodeURIComponent(key)}`,
      { bits: 256 },
    );
    const data = r.data as { plaintext: string; ciphertext: string };
    return { key: Buffer.from(data.plaintext, 'base64'), wrapped: data.ciphertext };
  }

  /**
   * Revokes the token this client logged in with (AppRole), so it is useless from the moment the
   * process stops (called on shutdown); a later call logs in again. A static token is left alone.
   */
  async close(): Promise<void> {
    const token = this.token;
    this.token = undefined;
    if (!token || this.opts.auth?.kind !== 'approle') return;
    await this.send('POST', 'auth/token/revoke-self', {}, token.value).catch((err: Error) =>
      this.opts.log.warn({ error: err.name }, 'vault token revocation failed'),
    );
  }

  /** Vault's health: initialized, unsealed and active (no token needed). */
  async health(): Promise<{ initialized: boolean; sealed: boolean; version: string }> {
    const r = await this.send(
      'GET',
      'sys/health?standbyok=true&sealedcode=200&uninitcode=200',
      undefined,
    );
    return {
      initialized: Boolean(r.initialized),
      sealed: Boolean(r.sealed),
      version: String(r.version),
    };
  }
}

/**
 * The Vault client of a process of kind `identity` (`api`, `worker-<region>`): the address, mount
 * and timeout from `config`, the identity's own credentials (`vaultAuthFor`), and `opts`.
 */
export function vaultClientFor(
  config: Config,
  identity: VaultIdentity,
  opts: Pick<VaultClientOptions, 'log'> & Partial<VaultClientOptions>,
): VaultClient {
  return new VaultClient({
    addr: config.vault.addr,
    mount: config.vault.mount,
    timeoutMs: config.vault.timeoutMs,
    auth: vaultAuthFor(config, identity),
    ...opts,
  });
}
