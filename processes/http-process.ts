import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PortInUseError } from '../config/env';

/** What an HTTP process serves, and where. */
export interface HttpProcess {
  app: FastifyInstance;
  /** Closes the app and its clients (its last requests finish first). */
  close: () => Promise<void>;
  log: Logger;
  host: string;
  port: number;
  /** The setting that moves the port, named when the port is taken (`API_PORT`). */
  portSetting: string;
}

/**
 * Listens on `host:port` and closes gracefully on SIGINT/SIGTERM (forced exit after 10 s). A port
 * already in use is a {@link PortInUseError} naming the setting that moves it.
 */
export async function serveHttp({ app, close, log, host, port, portSetting }: HttpProcess) {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    await close();
    clearTimeout(force);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  await app.listen({ host, port }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE' ? new PortInUseError(host, port, portSetting) : err;
  });
}

/** Runs a process's `main`; a failure to start is one line on stderr (no stack, no values) and exit 1. */
export function runProcess(name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    process.stderr.write(`${name} failed to start: ${err.name}: ${err.message}\n`);
    process.exit(1);
  });
}
