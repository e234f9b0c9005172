/**
 * Anomaly detection by an exponentially weighted moving average (EWMA) of each series, with its
 * variance, and episodes: a series is anomalous when a sample rises above its baseline by more than
 * `sigmas` standard deviations and at least `minDelta`; an episode opens on the first anomalous
 * sample (the one alert), and closes when a sample falls back below half that margin. Anomalous
 * samples do not move the baseline, so a long spike never becomes the new normal.
 * Pure: the detector activity loads and saves baselines.
 */

/** The learned state of one series. */
export interface Baseline {
  mean: number;
  variance: number;
  /** Samples folded in so far (a prior counts as `minSamples`). */
  samples: number;
  /** True while an anomaly episode is open (no further alerts until it closes). */
  episodeOpen: boolean;
}

/** How one kind of series is judged. */
export interface AnomalyPolicy {
  /** EWMA weight of a new sample (0–1]. */
  alpha: number;
  /** Margin in standard deviations. */
  sigmas: number;
  /** Smallest absolute rise that counts (e.g. 0.2 = 20 points of failure rate). */
  minDelta: number;
  /** Samples with less volume (attempts, requests) are ignored. */
  minVolume: number;
  /** Samples needed before the series is judged. */
  minSamples: number;
  /** Starting baseline for a new series (e.g. a typical failure rate), or none: learn first. */
  prior?: { mean: number; variance: number };
}

/** What one sample did to its series. */
export interface Evaluation {
  baseline: Baseline;
  /** The sample is above the margin. */
  anomalous: boolean;
  /** The sample opened an episode: raise one alert. */
  raise: boolean;
  /** The sample closed an episode. */
  recovered: boolean;
  /** The value the sample was compared with (the mean before it). */
  expected: number;
}

/** A new series' baseline under `policy`, or undefined when it must learn first. */
export function initialBaseline(policy: AnomalyPolicy): Baseline | undefined {
  return policy.prior
    ? { ...policy.prior, samples: policy.minSamples, episodeOpen: false }
    : undefined;
}

/** The EWMA update of mean and variance (West's incremental form). */
export function ewma(b: Baseline, value: number, alpha: number): Baseline {
  const diff = value - b.mean;
  const step = alpha * diff;
  return {
    ...b,
    mean: b.mean + step,
    variance: (1 - alpha) * (b.variance + diff * step),
    samples: b.samples + 1,
  };
}

/** The threshold margin above the mean. */
export const margin = (b: Baseline, policy: AnomalyPolicy) =>
  Math.max(policy.sigmas * Math.sqrt(Math.max(b.variance, 0)), policy.minDelta);

/** Judges one sample against its series (`previous` undefined for a new series). */
export function evaluateSample(
  previous: Baseline | undefined,
  sample: { value: number; volume: number },
  policy: AnomalyPolicy,
): Evaluation | undefined {
  const current = previous ?? initialBaseline(policy);
  if (sample.volume < policy.minVolume) return undefined;
  if (!current) {
    // The first sample of a series without a prior starts its baseline.
    return {
      baseline: { mean: sample.value, variance: 0, samples: 1, episodeOpen: false },
      anomalous: false,
      raise: false,
      recovered: false,
      expected: sample.value,
    };
  }
  const expected = current.mean;
  const m = margin(current, policy);
  const judged = current.samples >= policy.minSamples;
  const anomalous = judged && sample.value > expected + m;
  if (anomalous) {
    return {
      baseline: { ...current, episodeOpen: true },
      anomalous,
      raise: !current.episodeOpen,
      recovered: false,
      expected,
    };
  }
  const recovered = current.episodeOpen && sample.value < expected + m / 2;
  const episodeOpen = current.episodeOpen && !recovered;
  return {
    // Samples inside an open episode (between the margin and its half) do not teach the baseline either.
    baseline: episodeOpen
      ? current
      : { ...ewma(current, sample.value, policy.alpha), episodeOpen: false },
    anomalous,
    raise: false,
    recovered,
    expected,
  };
}

/** The series the detector watches: failure rates per carrier, country and sender number; requests per minute per API key. */
export type AnomalyKind = 'carrier_failure' | 'country_failure' | 'sender_failure' | 'key_volume';

const failureRate: AnomalyPolicy = {
  alpha: 0.2,
  sigmas: 3,
  minDelta: 0.3,
  minVolume: 5,
  minSamples: 3,
  // A new carrier, country or number is presumed healthy (5 % failures) until it shows otherwise.
  prior: { mean: 0.05, variance: 0.0025 },
};

/** Default policies: rates alert from the first busy window; key volume learns for 5 windows first. */
export const DEFAULT_ANOMALY_POLICIES: Readonly<Record<AnomalyKind, AnomalyPolicy>> = {
  carrier_failure: failureRate,
  country_failure: failureRate,
  sender_failure: failureRate,
  key_volume: { alpha: 0.2, sigmas: 4, minDelta: 60, minVolume: 20, minSamples: 5 },
};

/** Alerts that are rules rather than baselines: a region whose task queue no worker polls. */
export const REGION_NO_WORKER = 'region_no_worker';

/** Every kind of alert the detector raises. */
export type AlertKind = AnomalyKind | typeof REGION_NO_WORKER;

/** How long a region may go without a live worker before the detector alerts, by default. */
export const NO_WORKER_ALERT_SECONDS = 60;

/**
 * Judges a region's worker silence (seconds since a worker last polled its task queue; 0 while one
 * does): anomalous from `afterSeconds` on, one alert per episode, recovered once a worker is back.
 * The baseline keeps only the episode flag (the mean is the last silence, for operators reading it).
 */
export function judgeWorkerSilence(
  previous: Baseline | undefined,
  silentSeconds: number,
  afterSeconds: number,
): Evaluation {
  const wasOpen = previous?.episodeOpen ?? false;
  const anomalous = silentSeconds >= afterSeconds;
  return {
    baseline: {
      mean: silentSeconds,
      variance: 0,
      samples: (previous?.samples ?? 0) + 1,
      episodeOpen: anomalous,
    },
    anomalous,
    raise: anomalous && !wasOpen,
    recovered: wasOpen && !anomalous,
    expected: afterSeconds,
  };
}
