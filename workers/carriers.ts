import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CarrierDirectory } from '../activities/carriers/carrier-activities';
import { createHttpCarrierAdapter } from '../carriers/http/client';
import { createOutboundHttp, type OutboundHttp } from '../clients/outbound-http';
import { createSmppAdapter, type MobileOriginated } from '../carriers/smpp/client';
import { withTestNumbers } from '../carriers/test-numbers';
import type {
  CarrierAdapter,
  DeliveryReceipt,
  SubmitHooks,
  SubmitRequest,
} from '../carriers/types';
import type { CarrierConfig } from '../config/config';
import { eligibleCarriers } from '../domain/routing';

/** Spaces submits to at most `perSecond` per carrier in this process (a simple pacing limiter). */
function paced(adapter: CarrierAdapter, perSecond: number): CarrierAdapter {
  const interval = 1000 / perSecond;
  let next = 0;
  return {
    name: adapter.name,
    async submit(req: SubmitRequest, hooks?: SubmitHooks) {
      const now = Date.now();
      const slot = Math.max(now, next);
      next = slot + interval;
      if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
      return adapter.submit(req, hooks);
    },
    close: () => adapter.close(),
  };
}

export interface CarrierSet extends CarrierDirectory {
  close(): Promise<void>;
}

/**
 * Builds one adapter per configured carrier (each takes its protocol client's settings from config)
 * and the routing order. SMPP receipts are handed to `onReceipt` with the carrier's name.
 */
export function createCarriers(
  configs: readonly CarrierConfig[],
  {
    log,
    onReceipt,
    onMobileOriginated,
    publicUrl,
    outbound,
  }: {
    log: Logger;
    onReceipt: (carrier: string, r: DeliveryReceipt) => Promise<void>;
    /** Mobile-originated messages arriving on SMPP sessions (opt-out keywords). */
    onMobileOriginated?: (carrier: string, mo: MobileOriginated) => Promise<void>;
    publicUrl: string;
    /** Outbound HTTP rules (config.outbound); each HTTP carrier adds its own `allowCidrs`. */
    outbound: { httpsOnly: boolean; allowCidrs: readonly string[] };
  },
): CarrierSet {
  const adapters = new Map<string, CarrierAdapter>();
  const clients: OutboundHttp[] = [];
  // One guarded client per HTTP carrier: its allowlist and its connection pool are its own.
  const guarded = (allowCidrs: readonly string[]) => {
    const http = createOutboundHttp({
      httpsOnly: outbound.httpsOnly,
      allow: [...outbound.allowCidrs, ...allowCidrs],
    });
    clients.push(http);
    return http;
  };
  for (const c of configs) {
    const clog = log.child({ carrier: c.name });
    const adapter =
      c.kind === 'smpp'
        ? createSmppAdapter({
            name: c.name,
            host: c.host,
            port: c.port,
            ...(c.tls && {
              tls: {
                rejectUnauthorized: c.tlsRejectUnauthorized ?? true,
                ...(c.tlsCaFile && { ca: readFileSync(c.tlsCaFile) }),
                ...(c.tlsServerName && { servername: c.tlsServerName }),
              },
            }),
            systemId: c.systemId,
            password: c.password,
            windowSize: c.windowSize,
            maxSubmitsPerSecond: c.throughputPerSecond,
            log: clog,
            onReceipt: (r) => onReceipt(c.name, r),
            ...(onMobileOriginated && {
              onMobileOriginated: (mo: MobileOriginated) => onMobileOriginated(c.name, mo),
            }),
          })
        : createHttpCarrierAdapter({
            name: c.name,
            baseUrl: c.baseUrl,
            token: c.token,
            http: guarded(c.allowCidrs),
            log: clog,
            callbackUrl: `${publicUrl}/v1/carriers/${c.name}/receipts`,
          });
    // Test numbers are answered in front of every carrier, production included: they never leave.
    adapters.set(
      c.name,
      withTestNumbers(paced(adapter, c.throughputPerSecond), {
        log: clog,
        onReceipt: (r) => onReceipt(c.name, r),
      }),
    );
  }
  return {
    get: (name) => adapters.get(name),
    eligible: (country) => eligibleCarriers(configs, country),
    close: async () => {
      await Promise.all([...adapters.values()].map((a) => a.close()));
      for (const http of clients) http.close();
    },
  };
}
