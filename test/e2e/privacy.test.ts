import { join } from 'node:path';
import { createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { verifyAuditChain } from '../../db/audit';
import { createLogger } from '../../config/logger';
import { findLogFiles, needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { eventually } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { seeds } from '../helpers/seeds';
import { newTemporalClient, rootVault, stack } from '../helpers/stack';

/**
 * A code as a needle, with the characters around it: a bare 4-6 digit run also occurs in timestamps,
 * task ids and nanoseconds of any history, so only the code in its text context proves a leak.
 */
function codeNeedles(text: string, code: string): string[] {
  const i = text.indexOf(code);
  return [text.slice(Math.max(0, i - 2), i + code.length + 1)];
}

describe('privacy: 200 messages leave no plaintext number or code anywhere', () => {
  let p: Pipeline;
  const lines: string[] = [];
  const run = Date.now() % 100000;

  beforeAll(async () => {
    const capture = { write: (s: string) => void lines.push(s) };
    // Data keys rotate every 2 s, so the run spans several codec and message-secret keys.
    p = await startPipeline({
      log: createLogger('privacy-e2e', 'debug', capture),
      env: { CODEC_KEY_ROTATION_SECONDS: '2', MESSAGE_KEY_ROTATION_SECONDS: '2' },
    });
  });
  afterAll(async () => p?.close());

  test('after the traffic, with key rotations mid-run, the leak scan finds nothing and everything still decodes', async () => {
    const messages = [
      ...seeds.map((s, i) => ({
        to: `+4474005${String(run).padStart(5, '0').slice(-4)}${i}`,
        body: s.text,
        code: s.code,
      })),
      ...Array.from({ length: 190 }, (_, k) => {
        const code = String(100000 + ((run * 7 + k * 7919) % 900000));
        const to = [
          `+4474006${String(k).padStart(5, '0')}`,
          `+4915113${String(k).padStart(6, '0')}`,
          `+86139${String(run).padStart(5, '0')}${String(k).padStart(3, '0')}`,
        ][k % 3]!;
        return {
          to,
          body:
            k % 2
              ? `Your verification code is ${code}. Valid for 10 minutes.`
              : `G-${code} is your sign-in code`,
          code,
        };
      }),
    ];
    expect(messages).toHaveLength(200);
    expect(new Set(messages.map((m) => m.to)).size).toBe(200);

    const ids: string[] = [];
    for (let i = 0; i < messages.length; i += 25) {
      if (i === 100) {
        // Mid-run: rotate every region's transit key and the codec's wrapping key.
        const root = rootVault();
        for (const key of ['sms-global', 'sms-eu', 'sms-cn', 'codec-global'])
          await root.request('POST', `transit/keys/${key}/rotate`);
        // The API seals under a cached data key until it is rotateAfterMs old: only a seal after
        // that draws a key the rotated transit key wraps. On a fast machine the last 100 sends can
        // all come sooner, so the rest of the run starts once a key drawn before now is due.
        const due = Date.now() + p.config.messageSecrets.rotateAfterMs;
        await eventually('the data keys drawn before the rotation to be due', async () =>
          Date.now() > due ? true : undefined,
        );
      }
      const batch = await Promise.all(
        messages.slice(i, i + 25).map(async (m) => {
          const res = await p.send({ to: m.to, body: m.body, purpose: 'otp' });
          expect(res.status).toBe(202);
          return ((await res.json()) as { id: string }).id;
        }),
      );
      ids.push(...batch);
    }
    const final = await p.waitFinal(ids, 240_000);
    expect([...final.values()].filter((m) => m.status !== 'delivered')).toEqual([]);

    // Every history still decodes through the codec, across data-key and transit-key rotations.
    const client = await createTemporalClient(
      p.config,
      vaultClientFor(p.config, 'codec-server', { log: createLogger('x', 'silent') }),
    );
    const results = await Promise.all(ids.map((id) => client.workflow.getHandle(id).result()));
    expect(results.map((r) => (r as { status: string }).status)).toEqual(
      Array(200).fill('delivered'),
    );
    await client.connection.close();

    const plain = await newTemporalClient();
    const keyIds = new Set<string>();
    for (const id of ids.slice(0, 200)) {
      const history = await plain.workflow.getHandle(id).fetchHistory();
      const input =
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      keyIds.add(Buffer.from(input!.metadata!['encryption-key-id']!).toString());
    }
    expect(keyIds.size).toBeGreaterThan(1);

    // Message secrets are envelope ciphertexts under several data keys (and both transit key versions).
    const { rows: sealed } = await p.db.query<{ n: number; keys: number; wrappers: string[] }>(
      `select count(*)::int as n, count(distinct split_part(number_ciphertext, '.', 2))::int as keys,
              array_agg(distinct split_part(split_part(number_ciphertext, '.', 2), ':', 2)) as wrappers
         from message_secrets where message_id = any($1) and number_ciphertext like 'env1.%'`,
      [ids],
    );
    expect(sealed[0]!.n).toBe(200);
    expect(sealed[0]!.keys).toBeGreaterThan(1);
    expect(sealed[0]!.wrappers.length).toBeGreaterThan(1);

    const needles = messages.flatMap((m) => [
      ...needleVariants(m.to),
      ...codeNeedles(m.body, m.code),
    ]);
    const findings = await scanForLeaks({
      needles,
      logLines: lines,
      logFiles: findLogFiles(join(stack.dataDir, 'logs')),
      temporal: { client: plain, query: `Tenant = '${p.tenant}'` },
      db: p.db,
    });
    await plain.connection.close();
    expect(findings).toEqual([]);
    expect(lines.length).toBeGreaterThan(0);

    const chain = await verifyAuditChain(p.db);
    expect(chain.ok).toBe(true);
    const { rows } = await p.db.query(
      `select action, count(*)::int as n from audit_log where subject = any($1) group by 1 order by 1`,
      [ids],
    );
    expect(rows).toEqual([
      { action: 'message.accepted', n: 200 },
      { action: 'message.decrypt', n: expect.any(Number) },
      // waitFinal polls GET /v1/messages/:id: every read is audited too
      { action: 'message.read', n: expect.any(Number) },
    ]);
    expect(rows[1].n).toBeGreaterThanOrEqual(200);
  }, 300_000);
});
