import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Installs the Temporal runtime with its logs (SDK, workflow `log`, activity `log`) bridged into our pino
 * logger, so they pass the same redaction rules. Must run before any worker is created; idempotent per process.
 */
export function installRuntime(log: Logger, level: LogLevel = 'INFO'): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      log[levels[entry.level]]({ ...(entry.meta ?? {}) }, entry.message);
    }),
  });
}
