/**
 * Runs the SMSC simulator as a process: `tsx carriers/simulators/smpp/smsc-main.ts [port]`.
 * Port from argv, else SMSC_PORT, else 2775. SMSC_SYSTEM_ID / SMSC_PASSWORD, when set, are
 * required from binding clients. SMSC_TLS_CERT and SMSC_TLS_KEY (PEM files), when set, serve SMPP
 * over TLS. A dev/test tool: it keeps submitted messages in memory only.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../../config/logger';
import { startSmscSimulator } from './smsc';
import { closeOnSignals } from '../simulator-support';

async function main(): Promise<void> {
  const log = createLogger('smsc-simulator', process.env.LOG_LEVEL ?? 'info');
  const port = Number(process.argv[2] ?? process.env.SMSC_PORT ?? 2775);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError('SMSC port must be an integer between 0 and 65535');
  }
  const sim = await startSmscSimulator({
    port,
    host: process.env.SMSC_HOST ?? '127.0.0.1',
    log,
    ...(process.env.SMSC_SYSTEM_ID ? { systemId: process.env.SMSC_SYSTEM_ID } : {}),
    ...(process.env.SMSC_PASSWORD ? { password: process.env.SMSC_PASSWORD } : {}),
    ...(process.env.SMSC_TLS_CERT && process.env.SMSC_TLS_KEY
      ? {
          tls: {
            cert: readFileSync(process.env.SMSC_TLS_CERT),
            key: readFileSync(process.env.SMSC_TLS_KEY),
          },
        }
      : {}),
  });
  closeOnSignals(sim);
}

main().catch((err: unknown) => {
  console.error('smsc simulator failed to start:', (err as Error).message);
  process.exit(1);
});
