import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../domain/outbound';

/**
 * Value types of the settings (config/settings.ts) beyond those in config/env.ts: each parses one
 * environment variable's text into a typed value, with a message that names the rule, never the value.
 */

/** CIDR entries (domain/outbound.ts), as a JSON array's items or a comma-separated variable. */
export const cidr = z.string().refine(
  (entry) => {
    try {
      parseCidr(entry);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an address or CIDR range like 10.0.0.0/8' },
);

/** A comma-separated list of `item`s (spaces around items ignored; empty = none), at least `min` of them. */
export const commaList = <T extends z.ZodType<unknown, string>>(item: T, fallback = '', min = 0) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(min));

/** Comma-separated CIDRs; empty = none. */
export const cidrList = () => commaList(cidr);

/** A whole number from `min` to `max` (no upper bound when `max` is undefined). */
export const int = (fallback: number, min: number, max?: number) => {
  const n = z.coerce.number().int().min(min);
  return (max === undefined ? n : n.max(max)).default(fallback);
};

/** A whole number of seconds, at least 1. */
export const seconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** `true` or `false`. */
export const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((v) => v === 'true');

/** A JSON document validated by `inner`; `fallback` is the JSON text used when the variable is unset. */
export const jsonOf = <T extends z.ZodType>(inner: T, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(inner);

/** An IPv4/IPv6 address, or one with a `/prefix` (CIDR). */
function isAddressOrCidr(text: string): boolean {
  const [addr = '', prefix, extra] = text.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: empty = trust no proxy (the peer's address is the client's); else comma-separated
 * addresses or CIDRs of the proxies in front of the API, whose `X-Forwarded-For`/`-Proto` count
 * (each trusted hop in turn, from the peer outwards). Never "trust everyone", and no bare hop count:
 * either would let a client that reaches the API directly claim any address in `X-Forwarded-For`
 * (Fastify 5 itself ignores a numeric `trustProxy` for that reason).
 */
export const trustProxy = z
  .string()
  .default('')
  .transform((v, ctx): string[] | undefined => {
    const text = v.trim();
    if (text === '') return undefined;
    const list = text.split(',').map((a) => a.trim());
    if (list.every(isAddressOrCidr)) return list;
    ctx.addIssue({
      code: 'custom',
      message: /^\d+$/.test(text)
        ? "a hop count cannot tell a proxy from a client that sends X-Forwarded-For itself: list the proxies' addresses or CIDRs"
        : 'expected comma-separated proxy addresses or CIDRs, e.g. 10.0.0.0/8,127.0.0.1',
    });
    return z.NEVER;
  });
