import fc from 'fast-check';
import {
  DEFAULT_ANOMALY_POLICIES,
  evaluateSample,
  ewma,
  judgeWorkerSilence,
  type AnomalyPolicy,
  type Baseline,
} from '../../domain/anomaly';

const rate = DEFAULT_ANOMALY_POLICIES.carrier_failure;
const volume = DEFAULT_ANOMALY_POLICIES.key_volume;

/** Feeds samples through the detector; returns the indexes that raised an alert. */
function run(policy: AnomalyPolicy, values: number[], vol = 100) {
  let b: Baseline | undefined;
  const raised: number[] = [];
  values.forEach((value, i) => {
    const e = evaluateSample(b, { value, volume: vol }, policy);
    if (!e) return;
    if (e.raise) raised.push(i);
    b = e.baseline;
  });
  return { raised, baseline: b };
}

describe('EWMA anomaly detection', () => {
  test('the EWMA moves the mean towards each sample by alpha', () => {
    const b = ewma({ mean: 0, variance: 0, samples: 0, episodeOpen: false }, 1, 0.25);
    expect(b.mean).toBeCloseTo(0.25);
    expect(b.variance).toBeCloseTo(0.75 * 0.25);
    expect(b.samples).toBe(1);
  });

  test('a failure-rate spike raises one alert per episode, and a new one after recovery', () => {
    const healthy = Array(5).fill(0.02);
    const spike = Array(4).fill(0.9);
    const { raised } = run(rate, [...healthy, ...spike, ...healthy, ...spike]);
    expect(raised).toEqual([5, 14]);
  });

  test('a new carrier is judged from its first busy window against the healthy prior', () => {
    expect(run(rate, [1]).raised).toEqual([0]);
    expect(run(rate, [0.1]).raised).toEqual([]);
  });

  test('windows below the minimum volume are ignored, so a few failures never alert', () => {
    expect(run(rate, [1, 1, 1], rate.minVolume - 1).raised).toEqual([]);
  });

  test('the spike does not become the baseline', () => {
    const { baseline } = run(rate, [0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(baseline!.mean).toBeLessThan(0.05);
    expect(baseline!.episodeOpen).toBe(true);
  });

  test('key volume learns before it judges, then alerts on a burst', () => {
    const normal = Array(volume.minSamples).fill(100);
    expect(run(volume, [5000]).raised).toEqual([]);
    expect(run(volume, [...normal, 105, 98, 1000, 1000]).raised).toEqual([volume.minSamples + 2]);
  });

  test('a steady series never alerts, whatever its level', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        (v, n) => {
          expect(run(rate, Array(n).fill(v)).raised.length).toBeLessThanOrEqual(1);
          // After the first window, a constant level is its own baseline.
          const { raised } = run(rate, Array(n).fill(v));
          expect(raised.every((i) => i === 0)).toBe(true);
        },
      ),
    );
  });

  test('any series raises at most one alert per episode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }),
        (values) => {
          let b: Baseline | undefined;
          for (const value of values) {
            const e = evaluateSample(b, { value, volume: 100 }, rate);
            if (!e) continue;
            // An alert only ever opens an episode; an open one never alerts again.
            if (e.raise) expect(b?.episodeOpen ?? false).toBe(false);
            b = e.baseline;
          }
        },
      ),
    );
  });
});

describe('a region without a worker', () => {
  test('alerts once the silence reaches the threshold, once per episode, and recovers when a worker is back', () => {
    let b: Baseline | undefined;
    const seen = [0, 30, 59, 60, 120, 300, 0, 10, 61].map((silent) => {
      const e = judgeWorkerSilence(b, silent, 60);
      b = e.baseline;
      return e.raise ? 'raise' : e.recovered ? 'recovered' : e.anomalous ? 'open' : '-';
    });
    expect(seen).toEqual(['-', '-', '-', 'raise', 'open', 'open', 'recovered', '-', 'raise']);
  });
});
