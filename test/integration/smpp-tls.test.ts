import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarrierError, CarrierErrorType } from '../../carriers/errors';
import { startSmscSimulator, type SmscSimulator } from '../../carriers/simulators/smpp/smsc';
import type { DeliveryReceipt } from '../../carriers/types';
import { loadConfig } from '../../config/config';
import { createCarriers, type CarrierSet } from '../../workers/carriers';
import { testCertificates } from '../helpers/certificates';
import { eventually } from '../helpers/eventually';
import { silentLog } from '../helpers/stack';

// Real sockets on 127.0.0.1: the SMSC simulator serving SMPP over TLS with a certificate made for
// this test, and the carrier adapters built from configuration as a worker builds them.

const TO = '+4915112345678';
const TEXT = 'Your code is 731904. Valid 5 min.';
const SYSTEM_ID = 'tlsclient';
const PASSWORD = 'pw7Tls9x';

/** A TCP relay in front of `port` that keeps every octet the client sent: what the network sees. */
async function tap(port: number): Promise<{ port: number; sent: () => Buffer; close(): void }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.on('data', (c: Buffer) => chunks.push(c));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sent: () => Buffer.concat(chunks),
    close: () => server.close(),
  };
}

describe('SMPP over TLS: a message through the TLS simulator, delivered', () => {
  let dir: string;
  let pki: ReturnType<typeof testCertificates>;
  let smsc: SmscSimulator;
  const open: Array<{ close(): unknown }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smpp-tls-'));
    pki = testCertificates(dir);
    pki.ca('ca', '/CN=SMSC test CA');
    pki.issue('smsc', 'ca', 'subjectAltName=DNS:smsc.test\nextendedKeyUsage=serverAuth\n');
    smsc = await startSmscSimulator({
      log: silentLog,
      systemId: SYSTEM_ID,
      password: PASSWORD,
      seed: 7,
      tls: { cert: pki.file('smsc.pem'), key: pki.file('smsc.key') },
    });
  });
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  afterAll(async () => {
    await smsc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The carriers of a worker whose CARRIERS variable names one SMPP carrier at `port`. */
  function carriers(port: number, tls: Record<string, unknown>, receipts: DeliveryReceipt[]) {
    const config = loadConfig({
      CARRIERS: JSON.stringify([
        {
          kind: 'smpp',
          name: 'smsc-tls',
          host: '127.0.0.1',
          port,
          systemId: SYSTEM_ID,
          password: PASSWORD,
          ...tls,
        },
      ]),
    });
    const set: CarrierSet = createCarriers(config.carriers, {
      log: silentLog,
      publicUrl: 'http://127.0.0.1:1',
      outbound: config.outbound,
      onReceipt: async (_carrier, r) => void receipts.push(r),
    });
    open.push(set);
    return set.get('smsc-tls')!;
  }

  test('configured with tls, its CA and server name: bound, submitted, receipt DELIVRD; nothing readable on the wire', async () => {
    const wire = await tap(smsc.port);
    open.push(wire);
    const receipts: DeliveryReceipt[] = [];
    const adapter = carriers(
      wire.port,
      { tls: true, tlsCaFile: pki.path('ca.pem'), tlsServerName: 'smsc.test' },
      receipts,
    );
    const result = await adapter.submit({
      messageId: 'msg_tls',
      to: TO,
      from: 'MyBank',
      text: TEXT,
      registeredDelivery: true,
    });
    expect(result.parts).toBe(1);
    const received = smsc.messages().find((m) => m.destination === TO);
    expect(received).toMatchObject({ text: TEXT, source: 'MyBank', complete: true });
    const receipt = await eventually(
      'the delivery receipt',
      async () => receipts.find((r) => result.carrierMessageIds.includes(r.carrierMessageId)),
      10_000,
    );
    expect(receipt).toMatchObject({ status: 'delivered' });

    // What crossed the network: a TLS handshake, then records; no password, system id, number or text.
    const sent = wire.sent();
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]).toBe(0x16); // TLS handshake record
    for (const plain of [PASSWORD, SYSTEM_ID, TO.slice(1), '731904', 'Valid 5 min'])
      expect(sent.includes(Buffer.from(plain))).toBe(false);
  });

  test('an SMSC whose certificate does not verify (no trusted CA, or another name) is never bound: UNAVAILABLE', async () => {
    for (const tls of [
      { tls: true, tlsServerName: 'smsc.test' }, // the system's CAs do not know the test CA
      { tls: true, tlsCaFile: pki.path('ca.pem') }, // the certificate names smsc.test, not 127.0.0.1
    ]) {
      const binds = smsc.stats().binds;
      const adapter = carriers(smsc.port, { ...tls }, []);
      const err = await adapter
        .submit({
          messageId: 'msg_tls_refused',
          to: TO,
          from: 'MyBank',
          text: TEXT,
          registeredDelivery: false,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CarrierError);
      expect((err as CarrierError).type).toBe(CarrierErrorType.UNAVAILABLE);
      expect(smsc.stats().binds).toBe(binds);
    }
  });
});
