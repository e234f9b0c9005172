import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The channel the configuration tables' triggers notify on (migration 1764000010000): API keys,
 * client certificates, country rules, carrier prices, spend caps and review policies.
 */
export const CONFIG_CHANNEL = 'config_changed';

/** Every started cache of this process, so a write through `db/` drops them at once. */
const caches = new Set<ConfigCache>();

/**
 * Tells this process's caches that configuration changed. The `db/` functions that write the cached
 * tables call it after their commit, so a change made in this process holds for its very next
 * request; other processes hear the trigger's notification.
 */
export function configChanged(): void {
  for (const cache of caches) cache.invalidate();
}

export interface ConfigCacheOptions {
  /** Settings of the session that listens (a pool's `options`). */
  connection: pg.ClientConfig;
  log: Logger;
  /** How long an entry lives at most (default 60 s): a bound, not the mechanism. */
  ttlMs?: number;
  /** More entries than this empty the cache (default 10,000): lookups with unbounded keys cannot grow it. */
  maxEntries?: number;
  /** Wait before listening again after the session is lost (default 1 s). */
  reconnectMs?: number;
  now?: () => number;
}

/**
 * An API process's cache of the configuration rows its requests read, so that accepting a message
 * takes one round trip to PostgreSQL, not three. It is correct because it forgets:
 * - Triggers on the cached tables `pg_notify` on {@link CONFIG_CHANNEL} in the writing transaction,
 *   so every listening process hears of a change as it commits; the cache then drops every entry.
 * - A value read while a change committed is not kept: each read notes the cache's generation before
 *   it asks the database and stores its answer only if no change arrived meanwhile.
 * - While the listening session is down (or not yet up), nothing is cached: every read goes to the
 *   database, and the cache starts empty once it listens again.
 * - Entries also expire ({@link ConfigCacheOptions.ttlMs}, or earlier where the value says so, e.g. an
 *   API key's own expiry).
 *
 * Values are shared between requests: callers must not change them.
 */
export class ConfigCache {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();
  private generation = 0;
  private client?: pg.Client;
  private closed = false;
  private readonly syncs = new Map<string, () => void>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly reconnectMs: number;
  private readonly now: () => number;
  private retry?: NodeJS.Timeout;
  private listening?: Promise<void>;
  /** Reads answered from memory, and reads that went to the database. */
  hits = 0;
  misses = 0;

  constructor(private readonly opts: ConfigCacheOptions) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.reconnectMs = opts.reconnectMs ?? 1_000;
    this.now = opts.now ?? Date.now;
  }

  /** Starts listening; until then (and whenever the session is lost) reads go to the database. */
  start(): this {
    if (!this.listening) {
      caches.add(this);
      this.listening = this.listen();
    }
    return this;
  }

  /** True while changes are heard, so entries are kept. */
  get live(): boolean {
    return this.client !== undefined;
  }

  /** Resolves once the first attempt to listen has ended (tests; the cache works either way). */
  async ready(): Promise<void> {
    await this.listening;
  }

  /** Whether `key` would be answered from memory now (no database read). */
  has(key: string): boolean {
    const hit = this.live ? this.entries.get(key) : undefined;
    return hit !== undefined && hit.expiresAt > this.now();
  }

  /**
   * The value under `key`, from memory or else from `load` (then kept, unless a change arrived while
   * it loaded). `keepUntil` may shorten an entry's life (epoch ms); 0 means do not keep this value.
   */
  async read<T>(key: string, load: () => Promise<T>, keepUntil?: (value: T) => number): Promise<T> {
    const now = this.now();
    const hit = this.live ? this.entries.get(key) : undefined;
    if (hit && hit.expiresAt > now) {
      this.hits++;
      return hit.value as T;
    }
    this.misses++;
    const generation = this.generation;
    const value = await load();
    const expiresAt = Math.min(now + this.ttlMs, keepUntil ? keepUntil(value) : Infinity);
    if (this.live && generation === this.generation && expiresAt > now) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { value, expiresAt });
    }
    return value;
  }

  /** Forgets every entry, and every read still in flight. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /**
   * Waits until every change committed before this call has reached this cache: it notifies its own
   * channel and waits to hear that, and PostgreSQL delivers notifications in commit order. For tests
   * and tools that change configuration in another session and need this process to see it at once.
   */
  async sync(): Promise<void> {
    const client = this.client;
    if (!client) return; // not listening: nothing is cached
    const nonce = randomUUID();
    const heard = new Promise<void>((resolve) => this.syncs.set(nonce, resolve));
    await client.query('select pg_notify($1, $2)', [CONFIG_CHANNEL, `sync:${nonce}`]);
    await heard;
  }

  async close(): Promise<void> {
    this.closed = true;
    caches.delete(this);
    clearTimeout(this.retry);
    await this.listening;
    const client = this.client;
    this.lost();
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      ...this.opts.connection,
      application_name: `${this.opts.connection.application_name ?? 'sms'}-config-listener`,
    });
    // A lost session emits `error`, then `end`.
    client.on('error', (err: Error & { code?: string }) =>
      this.opts.log.warn(
        { error: err.name, code: err.code },
        'config cache: the listening session failed; reading through to PostgreSQL',
      ),
    );
    client.on('end', () => {
      if (this.client !== client) return;
      this.lost();
      this.schedule();
    });
    client.on('notification', (n) => {
      if (n.channel !== CONFIG_CHANNEL) return;
      if (n.payload?.startsWith('sync:')) {
        const nonce = n.payload.slice(5);
        this.syncs.get(nonce)?.();
        this.syncs.delete(nonce);
        return;
      }
      this.invalidate();
    });
    try {
      await client.connect();
      await client.query(`listen ${CONFIG_CHANNEL}`);
    } catch (err) {
      const e = err as Error & { code?: string };
      this.opts.log.warn(
        { error: e.name, code: e.code },
        'config cache: cannot listen for changes; reading through to PostgreSQL',
      );
      await client.end().catch(() => undefined);
      this.schedule();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    // Anything may have changed while nobody listened.
    this.invalidate();
    this.client = client;
  }

  /** The session is gone: stop keeping entries, and let waiting syncs go (nothing is cached). */
  private lost(): void {
    this.client = undefined;
    this.invalidate();
    for (const resolve of this.syncs.values()) resolve();
    this.syncs.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    this.retry = setTimeout(() => {
      this.listening = this.listen();
    }, this.reconnectMs);
    this.retry.unref();
  }
}
