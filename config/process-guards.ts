import type { Logger } from 'pino';
import { isUnavailableError } from '../clients/db';

/**
 * Makes a process's last resort explicit, so that nothing ends it silently:
 * - an unhandled promise rejection is logged (error, with its redacted stack) and the process goes on:
 *   it is a promise nobody awaited, the process's state is intact (Node's default would exit);
 * - an uncaught exception caused by a lost connection (PostgreSQL restarting, a socket reset: an
 *   `error` event nobody listened to) is logged and the process goes on: the clients reconnect;
 * - any other uncaught exception leaves the process in an unknown state: it is logged as fatal and the
 *   process exits with status 1, for its supervisor (`npm start`, systemd, Kubernetes) to restart it.
 *
 * `exit` is for tests. Returns a function that removes the handlers.
 */
export function installProcessGuards(
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  const { onRejection, onException } = processGuardHandlers(log, exit);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}

/** The handlers {@link installProcessGuards} installs (apart, so a test can call them). */
export function processGuardHandlers(
  log: Pick<Logger, 'error' | 'fatal'>,
  exit: (code: number) => void,
): { onRejection: (reason: unknown) => void; onException: (err: unknown) => void } {
  return {
    onRejection(reason) {
      log.error({ err: reason }, 'unhandled promise rejection; the process continues');
    },
    onException(err) {
      if (isUnavailableError(err)) {
        log.error({ err }, 'uncaught connection error; the process continues and reconnects');
        return;
      }
      log.fatal({ err }, 'uncaught exception; exiting for the supervisor to restart the process');
      exit(1);
    },
  };
}
