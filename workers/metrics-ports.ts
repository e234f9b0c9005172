import { REGIONS, type Region } from '../domain/regions';

/** The first default metrics port: the global worker's `/metrics`. */
const BASE_PORT = 9464;

/** A worker's metrics addresses: its `/metrics` port and the Temporal SDK exporter's host:port ('' = off). */
export interface WorkerMetricsPorts {
  port: number;
  sdkAddress: string;
}

/**
 * Where a worker of `region` serves its metrics. Each region has its own pair of default ports
 * (global 9464 and 9465, eu 9466 and 9467, cn 9468 and 9469), so `npm start` runs a worker for every
 * region on one host without any setting; `WORKER_METRICS_PORT` and `TEMPORAL_SDK_METRICS_ADDRESS`
 * override them (several workers of one region on one host: 0 and '' or ports of your own).
 */
export function workerMetricsPorts(
  region: Region,
  metrics: { host: string; workerPort?: number; sdkAddress?: string },
): WorkerMetricsPorts {
  const base = BASE_PORT + 2 * REGIONS.indexOf(region);
  return {
    port: metrics.workerPort ?? base,
    sdkAddress: metrics.sdkAddress ?? `${metrics.host}:${base + 1}`,
  };
}
