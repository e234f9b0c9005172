import {
  addressVerdict,
  createAllowlist,
  deniedRange,
  embeddedIpv4,
  parseCidr,
  urlVerdict,
} from '../../domain/outbound';

const none = createAllowlist([]);

describe('outbound address rules', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.0.0.2', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['2001:db8::1', 'reserved'],
  ])('%s is %s', (ip, range) => {
    expect(deniedRange(ip)).toBe(range);
    expect(addressVerdict(ip, none)).toEqual({ ok: false, range });
  });

  test.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (ip) => {
      expect(deniedRange(ip)).toBeUndefined();
      expect(addressVerdict(ip, none)).toEqual({ ok: true });
    },
  );

  test('embedded IPv4 addresses are read from v4-mapped, NAT64 and 6to4 forms only', () => {
    expect(embeddedIpv4('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIpv4('::ffff:c0a8:1')).toBe('192.168.0.1');
    expect(embeddedIpv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(embeddedIpv4('2002:a00:1::1')).toBe('10.0.0.1');
    expect(embeddedIpv4('2606:4700::1111')).toBeUndefined();
    expect(embeddedIpv4('10.0.0.1')).toBeUndefined();
  });

  test('an allowlist lets exactly its ranges through, in either IP form', () => {
    const allow = createAllowlist(['127.0.0.1/32', '10.20.0.0/16']);
    expect(addressVerdict('127.0.0.1', allow)).toEqual({ ok: true });
    expect(addressVerdict('::ffff:127.0.0.1', allow)).toEqual({ ok: true });
    expect(addressVerdict('127.0.0.2', allow)).toEqual({ ok: false, range: 'loopback' });
    expect(addressVerdict('10.20.3.4', allow)).toEqual({ ok: true });
    expect(addressVerdict('10.21.0.1', allow)).toEqual({ ok: false, range: 'private' });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(TypeError);
    expect(() => parseCidr('example.com')).toThrow(TypeError);
    expect(() => parseCidr('10.0.0.0/8/1')).toThrow(TypeError);
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });

  test('URLs: scheme, credentials and literal addresses are judged before any connection', () => {
    const dev = { httpsOnly: false, allow: none };
    const prod = { httpsOnly: true, allow: none };
    const v = (url: string, p = dev) => urlVerdict(new URL(url), p);
    expect(v('https://hooks.example.com/sms')).toBeUndefined();
    expect(v('http://hooks.example.com/sms')).toBeUndefined();
    expect(v('http://hooks.example.com/sms', prod)).toMatchObject({ reason: 'scheme' });
    expect(v('ftp://hooks.example.com/')).toMatchObject({ reason: 'scheme' });
    expect(v('https://user:pw@hooks.example.com/')).toMatchObject({ reason: 'credentials' });
    expect(v('https://127.0.0.1:8200/v1/sys')).toMatchObject({
      reason: 'address',
      range: 'loopback',
    });
    expect(v('https://[::1]/')).toMatchObject({ reason: 'address', range: 'loopback' });
    expect(v('https://[::ffff:a9fe:a9fe]/')).toMatchObject({ range: 'metadata' });
    expect(v('https://0x7f.1/')).toMatchObject({ range: 'loopback' }); // WHATWG URL normalizes it
    expect(v('https://2130706433/')).toMatchObject({ range: 'loopback' });
    expect(v('https://localhost:3000/')).toMatchObject({ range: 'loopback' });
    expect(v('https://api.localhost/')).toMatchObject({ range: 'loopback' });
    expect(
      v('http://127.0.0.1:9/', { httpsOnly: false, allow: createAllowlist(['127.0.0.1']) }),
    ).toBeUndefined();
  });
});
