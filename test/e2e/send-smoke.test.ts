import { startPipeline, type Pipeline } from '../helpers/pipeline';

describe('send pipeline smoke', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => p?.close());

  test('one OTP goes API → Temporal → SMPP simulator → receipt → delivered', async () => {
    const res = await p.send({ to: '+447400123456', body: 'Your code is 482913', purpose: 'otp' });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as {
      id: string;
      status: string;
      encoding: string;
      segments: number;
    };
    expect(accepted).toMatchObject({ status: 'accepted', encoding: 'GSM7', segments: 1 });
    const final = await p.waitFinal([accepted.id], 60_000);
    expect(final.get(accepted.id)).toMatchObject({
      status: 'delivered',
      recipient: '+44••••••••56',
      carrier: 'smsc-a',
    });
    const got = p.smscs[0]!.messages();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      destination: '+447400123456',
      text: 'Your code is 482913',
      encoding: 'GSM7',
      parts: 1,
    });
  });
});
