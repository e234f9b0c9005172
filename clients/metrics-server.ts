import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PortInUseError } from '../config/env';

/** A process's `/metrics` endpoint (a worker's, the API's), see {@link startMetricsServer}. */
export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on a listener of its own (never on the API's public port): the process's
 * registry, followed for a worker by the Temporal SDK's exporter
 * (`sdkUrl`, the runtime's Prometheus endpoint) so one scrape target carries both. The SDK's series
 * are all named `temporal_*`, ours `sms_*` and the Node.js defaults `process_*`/`nodejs_*`, so the
 * two expositions concatenate without clashes. If the SDK exporter does not answer, our part is
 * still served (with a comment saying so).
 */
export async function startMetricsServer({
  host,
  port,
  registry,
  portVariable,
  sdkUrl,
  log,
}: {
  host: string;
  port: number;
  /** The setting that moves `port`, named in the error when the port is taken. */
  portVariable: string;
  registry: Registry;
  sdkUrl?: string;
  log: Logger;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        let text = await registry.metrics();
        if (sdkUrl) {
          try {
            const sdk = await fetch(sdkUrl, { signal: AbortSignal.timeout(2000) });
            text += `\n${await sdk.text()}`;
          } catch (err) {
            text += `\n# Temporal SDK metrics unavailable: ${(err as Error).name}\n`;
          }
        }
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      } catch (err) {
        log.error({ err }, 'metrics scrape failed');
        res.writeHead(500).end();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(host, port, portVariable) : err),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
