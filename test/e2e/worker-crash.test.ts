import type { ChildProcess } from 'node:child_process';
import { startPipeline, startWorkerProcess, type Pipeline } from '../helpers/pipeline';

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('a worker killed with SIGKILL in the middle of a run', () => {
  let p: Pipeline;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    p = await startPipeline({ startWorkers: false });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await p?.close();
  });

  test('all 50 messages reach a final status and no journaled part is ever submitted again', async () => {
    const smsc = p.smscs[0]!;
    // Slow submits so the kill lands while parts are on the wire; multi-part bodies so a message can be half-sent.
    smsc.setBehaviour({ latencyMs: 40 });
    const messages = Array.from({ length: 50 }, (_, i) => ({
      to: `+4474003${String(i).padStart(5, '0')}`,
      body:
        i % 2
          ? `Your code is ${200000 + i}`
          : `Statement ${i}: `.concat(
              'your monthly statement is ready to view in the app. '.repeat(5),
            ),
      purpose: 'transactional',
    }));
    const ids: string[] = [];
    for (const m of messages) {
      const res = await p.send(m);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const destinationOf = new Map(ids.map((id, i) => [id, messages[i]!.to]));

    const first = startWorkerProcess(p);
    workers.push(first);
    await until('a third of the parts to be acknowledged', async () => {
      const { rows } = await p.db.query(
        'select count(*)::int as n from dispatch_journal where message_id = any($1)',
        [ids],
      );
      return rows[0].n >= 25;
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const { rows: journaled } = await p.db.query<{ message_id: string; part_index: number }>(
      'select message_id, part_index from dispatch_journal where message_id = any($1)',
      [ids],
    );
    expect(journaled.length).toBeGreaterThanOrEqual(25);
    // The kill landed mid-run: some messages were not yet submitted in full.
    const { rows: open } = await p.db.query(
      `select count(*)::int as n from messages where id = any($1) and status = 'delivered'`,
      [ids],
    );
    expect(open[0].n).toBeLessThan(50);
    const submittedBeforeKill = smsc.received.filter((r) => r.commandStatus === 0).length;

    workers.push(startWorkerProcess(p));
    const final = await p.waitFinal(ids, 240_000);
    expect(
      [...final.values()].filter(
        (m) => !['delivered', 'undelivered', 'unconfirmed', 'failed'].includes(m.status),
      ),
    ).toEqual([]);
    expect([...final.values()].filter((m) => m.status === 'delivered').length).toBe(50);

    // Count every part the SMSC accepted, per (destination, part index).
    const accepted = new Map<string, number>();
    for (const r of smsc.received.filter((x) => x.commandStatus === 0)) {
      const seq = r.udh ? r.udh.seq - 1 : 0;
      const k = `${r.destination}#${seq}`;
      accepted.set(k, (accepted.get(k) ?? 0) + 1);
    }
    const journaledKeys = new Set(
      journaled.map((j) => `${destinationOf.get(j.message_id)}#${j.part_index}`),
    );
    const resentJournaled = [...journaledKeys].filter((k) => (accepted.get(k) ?? 0) > 1);
    expect(resentJournaled).toEqual([]);
    const duplicates = [...accepted.entries()].filter(([, n]) => n > 1).map(([k]) => k);
    // Duplicates can only be parts that were on the wire, unacknowledged in the journal, at the kill.
    for (const d of duplicates) expect(journaledKeys.has(d)).toBe(false);
    expect(submittedBeforeKill).toBeGreaterThan(0);
    process.stderr.write(
      `worker-crash: ${journaled.length} parts journaled at the kill, ${duplicates.length} unjournaled parts resent\n`,
    );
  });
});
