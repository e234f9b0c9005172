/**
 * Where outbound HTTP (client callbacks, HTTP carriers, anomaly webhooks) may go: pure address and
 * URL rules, shared by the API (a callback URL that can never be allowed is refused when the message
 * is accepted) and the guarded client (clients/outbound-http.ts checks every address it connects to).
 *
 * A tenant chooses its callback URL, so without these rules the worker would POST wherever it is
 * told: to Vault, Temporal or the simulators on 127.0.0.1, to private networks, to a cloud's
 * metadata service. Every range below is refused unless an operator lists it in an allowlist.
 */
import { BlockList, isIP } from 'node:net';

/** Why an address is refused: the named range it falls in. */
export type DeniedRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'cgnat'
  | 'reserved';

type Family = 'ipv4' | 'ipv6';

/** Checked in order: the first match names the range (metadata before link-local and private). */
const DENIED: ReadonlyArray<readonly [DeniedRange, string, number, Family]> = [
  ['metadata', '169.254.169.254', 32, 'ipv4'],
  ['metadata', '100.100.100.200', 32, 'ipv4'],
  ['metadata', 'fd00:ec2::254', 128, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['cgnat', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['reserved', '192.88.99.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  // IPv4-compatible (deprecated); the v4-mapped, NAT64 and 6to4 forms are judged by their IPv4 address.
  ['reserved', '::', 96, 'ipv6'],
  ['reserved', '64:ff9b:1::', 48, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'],
  ['reserved', '2001::', 23, 'ipv6'],
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['private', 'fec0::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const deniedLists = DENIED.map(([range, address, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { range, list, family };
});

/** The 16 bytes of an IPv6 address (valid per `isIP`), dotted-quad tail included. */
function ipv6Bytes(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0]!;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all =
    tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach an IPv4 host: v4-mapped
 * (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
 */
export function embeddedIpv4(ip: string): string | undefined {
  if (isIP(ip) !== 6) return undefined;
  const b = ipv6Bytes(ip);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join('.');
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12))
    return b.slice(12).join('.');
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return undefined;
}

/** Addresses an operator allows despite the denied ranges (`OUTBOUND_ALLOW_CIDRS`, a carrier's `allowCidrs`). */
export interface Allowlist {
  has(ip: string): boolean;
  /** The entries it was made of, for building a larger list. */
  readonly entries: readonly string[];
}

/** Checks one allowlist entry (`127.0.0.1/32`, `10.1.0.0/16`, `fd00::/8`, `192.0.2.7`); throws a TypeError naming what is wrong. */
export function parseCidr(entry: string): { address: string; prefix: number; family: Family } {
  const [address = '', prefixText, extra] = entry.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    version === 0 ||
    extra !== undefined ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))
  )
    throw new TypeError(`expected an address or CIDR range like 10.0.0.0/8, got "${entry}"`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An {@link Allowlist} of CIDR entries (throws like {@link parseCidr}). */
export function createAllowlist(entries: readonly string[]): Allowlist {
  const list = new BlockList();
  for (const e of entries) {
    const { address, prefix, family } = parseCidr(e);
    list.addSubnet(address, prefix, family);
  }
  return {
    entries: Object.freeze([...entries]),
    has(ip) {
      const version = isIP(ip);
      if (version === 0) return false;
      const v4 = embeddedIpv4(ip);
      return (
        list.check(ip, version === 4 ? 'ipv4' : 'ipv6') ||
        (v4 !== undefined && list.check(v4, 'ipv4'))
      );
    },
  };
}

/** The denied range `ip` falls in (an IPv6 form of an IPv4 address is judged as that address), or undefined. */
export function deniedRange(ip: string): DeniedRange | undefined {
  const version = isIP(ip);
  if (version === 0) return 'reserved';
  const v4 = embeddedIpv4(ip);
  if (v4 !== undefined) return deniedRange(v4);
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  return deniedLists.find((d) => d.family === family && d.list.check(ip, family))?.range;
}

export type AddressVerdict = { ok: true } | { ok: false; range: DeniedRange };

/** Whether outbound HTTP may connect to `ip`: outside every denied range, or on the allowlist. */
export function addressVerdict(ip: string, allow: Allowlist): AddressVerdict {
  const range = deniedRange(ip);
  if (range === undefined || allow.has(ip)) return { ok: true };
  return { ok: false, range };
}

/** Rules for outbound URLs: https only (production), and the operator's allowlist. */
export interface OutboundPolicy {
  httpsOnly: boolean;
  allow: Allowlist;
}

/** Why a URL can never be fetched, whatever its name resolves to. */
export type UrlRefusal =
  | { reason: 'scheme'; detail: string }
  | { reason: 'credentials'; detail: string }
  | { reason: 'address'; range: DeniedRange; detail: string };

/** A URL's host without IPv6 brackets or a final dot, lower-case. */
export const urlHost = (url: URL) =>
  url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();

/**
 * Judges a URL before any connection: the scheme (https, or http outside production), no
 * credentials in it, and, when its host is an IP literal or a `localhost` name, that address.
 * A host name passes here; its resolved addresses are checked when connecting.
 */
export function urlVerdict(url: URL, policy: OutboundPolicy): UrlRefusal | undefined {
  const schemes = policy.httpsOnly ? ['https:'] : ['https:', 'http:'];
  if (!schemes.includes(url.protocol))
    return {
      reason: 'scheme',
      detail: policy.httpsOnly ? 'only https URLs are allowed' : 'only http(s) URLs are allowed',
    };
  if (url.username || url.password)
    return { reason: 'credentials', detail: 'the URL must not carry credentials' };
  const host = urlHost(url);
  const addresses =
    host === 'localhost' || host.endsWith('.localhost')
      ? ['127.0.0.1', '::1']
      : isIP(host)
        ? [host]
        : [];
  for (const ip of addresses) {
    const v = addressVerdict(ip, policy.allow);
    if (!v.ok)
      return {
        reason: 'address',
        range: v.range,
        detail: `the host is a ${v.range} address, which outbound requests may not reach`,
      };
  }
  return undefined;
}
