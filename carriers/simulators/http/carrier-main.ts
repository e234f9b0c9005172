/**
 * Runs the HTTP carrier simulator as a process: `tsx carriers/simulators/http/carrier-main.ts [port]`.
 * Port from argv, else HTTP_CARRIER_PORT, else 2776. HTTP_CARRIER_TOKEN and
 * HTTP_CARRIER_WEBHOOK_SECRET are required; HTTP_CARRIER_RECEIPT_URL is the default receipt
 * target. A dev/test tool: it keeps submitted messages in memory only.
 */
import { createLogger } from '../../../config/logger';
import { startHttpCarrierSimulator } from './carrier';
import { closeOnSignals } from '../simulator-support';

async function main(): Promise<void> {
  const log = createLogger('http-carrier-simulator', process.env.LOG_LEVEL ?? 'info');
  const port = Number(process.argv[2] ?? process.env.HTTP_CARRIER_PORT ?? 2776);
  const token = process.env.HTTP_CARRIER_TOKEN;
  const webhookSecret = process.env.HTTP_CARRIER_WEBHOOK_SECRET;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError('HTTP carrier port must be an integer between 0 and 65535');
  }
  if (!token || !webhookSecret) {
    throw new Error('HTTP_CARRIER_TOKEN and HTTP_CARRIER_WEBHOOK_SECRET are required');
  }
  const sim = await startHttpCarrierSimulator({
    port,
    host: process.env.HTTP_CARRIER_HOST ?? '127.0.0.1',
    log,
    token,
    webhookSecret,
    ...(process.env.HTTP_CARRIER_RECEIPT_URL
      ? { receiptUrl: process.env.HTTP_CARRIER_RECEIPT_URL }
      : {}),
  });
  closeOnSignals(sim);
}

main().catch((err: unknown) => {
  console.error('http carrier simulator failed to start:', (err as Error).message);
  process.exit(1);
});
