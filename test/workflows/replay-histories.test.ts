/**
 * Every history recorded from real runs (test/workflows/histories/, `npm run histories:record`)
 * replays against the current workflow code: a change that would make a running workflow
 * non-deterministic fails here, before it reaches the workers. See docs/workflow-evolution.md.
 */
import { recordedHistories, replayAgainst } from '../helpers/recorded-histories';

const histories = recordedHistories();

test('histories of every workflow type are recorded', () => {
  const types = new Set(
    histories.map(
      ({ history }) =>
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
    ),
  );
  expect([...types].sort()).toEqual([
    'anomalyDetectorWorkflow',
    'erasureWorkflow',
    'purgeSweepWorkflow',
    'sendMessageWorkflow',
  ]);
});

test('every recorded history replays against the current workflow bundle', async () => {
  const results = await replayAgainst(require.resolve('../../workflows'), histories);
  expect(Object.keys(results).sort()).toEqual(histories.map((h) => h.name).sort());
  expect(results).toEqual(Object.fromEntries(histories.map((h) => [h.name, undefined])));
});
