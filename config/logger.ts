import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Field paths whose values are personal data or secrets; pino replaces them before a line is written.
 * The free-text serializer (issue: privacy layer) masks what slips through inside strings.
 */
export const REDACT_PATHS = [
  'to',
  'from',
  'body',
  'text',
  'number',
  'phone',
  'msisdn',
  'recipient',
  'destination_addr',
  'source_addr',
  'short_message',
  'message_payload',
  'token',
  'secret',
  'password',
  'authorization',
  '*.to',
  '*.body',
  '*.text',
  '*.number',
  '*.phone',
  '*.msisdn',
  '*.recipient',
  '*.destination_addr',
  '*.short_message',
  '*.token',
  '*.secret',
  '*.password',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

/** The one logger factory: every process (API, workers, simulators, scripts) builds its logger here. */
export function createLogger(
  name: string,
  level: LoggerOptions['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
