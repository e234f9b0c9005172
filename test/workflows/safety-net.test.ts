/**
 * The replay of recorded histories can fail: the send workflow with two of its real steps swapped
 * (the pre-send review before the opt-out check) fails to replay the recorded `send-review` history with a
 * non-determinism error; the same edit behind `patched()` replays it. See docs/workflow-evolution.md.
 */
import { recordedHistory, replayAgainst } from '../helpers/recorded-histories';

const reviewed = recordedHistory('send-review');

test('swapping two steps of sendMessageWorkflow breaks the replay of a recorded send', async () => {
  const results = await replayAgainst(require.resolve('./fixtures/send-steps-swapped'), [reviewed]);
  expect(results['send-review']).toMatch(/nondetermin/i);
});

test('the same swap behind patched() replays the recorded send', async () => {
  const results = await replayAgainst(require.resolve('./fixtures/send-steps-swapped-patched'), [
    reviewed,
  ]);
  expect(results).toEqual({ 'send-review': undefined });
});
