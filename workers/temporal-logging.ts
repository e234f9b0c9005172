import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { PortInUseError } from '../config/env';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let sdkMetrics: string | undefined;

/**
 * Installs the Temporal runtime with its logs (SDK, workflow `log`, activity `log`) bridged into our pino
 * logger, so they pass the same redaction rules, and, with `sdkMetricsAddress` (host:port), the SDK's
 * own Prometheus exporter there. Must run before any worker is created. The runtime is one per process,
 * so its exporter is too: every worker of the process serves it through its `/metrics`
 * (see {@link sdkMetricsUrl}).
 */
export function installRuntime(
  log: Logger,
  level: LogLevel = 'INFO',
  sdkMetricsAddress?: string,
): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        log[levels[entry.level]]({ ...(entry.meta ?? {}) }, entry.message);
      }),
      ...(sdkMetricsAddress
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } }
        : {}),
    });
  } catch (err) {
    // The SDK says only "Address already in use": name the address and the setting that moves it.
    const [host = '', port = ''] = sdkMetricsAddress?.split(/:(?=\d+$)/) ?? [];
    if (sdkMetricsAddress && /address already in use/i.test((err as Error).message))
      throw new PortInUseError(host, Number(port), 'TEMPORAL_SDK_METRICS_ADDRESS');
    throw err;
  }
  sdkMetrics = sdkMetricsAddress ? `http://${sdkMetricsAddress}/metrics` : undefined;
}

/** The URL of the Temporal SDK's Prometheus exporter of this process, if {@link installRuntime} enabled it. */
export const sdkMetricsUrl = (): string | undefined => sdkMetrics;
