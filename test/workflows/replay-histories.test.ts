/**
 * Every history recorded from real runs (test/workflows/histories/, `npm run histories:record`)
 * replays against the current workflow code: a change that would make a running workflow
 * non-deterministic fails here, before it reaches the workers. See docs/workflow-evolution.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandNeedles, foldText, maskNeedle } from '../../scripts/leak-scan';
import {
  HISTORIES_DIR,
  payloadTexts,
  RECORDED_BODY,
  RECORDED_CODE,
  RECORDED_RECIPIENTS,
  recordedHistories,
  replayAgainst,
} from '../helpers/recorded-histories';

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

test('recorded histories hold no number, body or code of the messages recorded, in any written form', () => {
  const needles = expandNeedles([
    ...Object.values(RECORDED_RECIPIENTS),
    RECORDED_BODY,
    RECORDED_CODE,
  ]);
  const findings = histories.flatMap(({ name, history }) => {
    const texts = [
      readFileSync(join(HISTORIES_DIR, `${name}.json`), 'utf8'),
      ...payloadTexts(history),
    ];
    return texts
      .map(foldText)
      .flatMap((text) =>
        needles.filter((n) => text.includes(n)).map((n) => `${name}: ${maskNeedle(n)}`),
      );
  });
  expect(findings).toEqual([]);
});
