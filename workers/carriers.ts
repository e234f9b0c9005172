import type { Logger } from 'pino';
import type { CarrierDirectory } from '../activities/carriers';
import { createHttpCarrierAdapter } from '../carriers/http/client';
import { createSmppAdapter, type MobileOriginated } from '../carriers/smpp/client';
import type {
  CarrierAdapter,
  DeliveryReceipt,
  SubmitHooks,
  SubmitRequest,
} from '../carriers/types';
import type { CarrierConfig } from '../config/config';

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
  }: {
    log: Logger;
    onReceipt: (carrier: string, r: DeliveryReceipt) => Promise<void>;
    /** Mobile-originated messages arriving on SMPP sessions (opt-out keywords). */
    onMobileOriginated?: (carrier: string, mo: MobileOriginated) => Promise<void>;
    publicUrl: string;
  },
): CarrierSet {
  const adapters = new Map<string, CarrierAdapter>();
  for (const c of configs) {
    const clog = log.child({ carrier: c.name });
    const adapter =
      c.kind === 'smpp'
        ? createSmppAdapter({
            name: c.name,
            host: c.host,
            port: c.port,
            systemId: c.systemId,
            password: c.password,
            windowSize: c.windowSize,
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
            log: clog,
            callbackUrl: `${publicUrl}/v1/carriers/${c.name}/receipts`,
          });
    adapters.set(c.name, paced(adapter, c.throughputPerSecond));
  }
  const ordered = [...configs].sort((a, b) => a.priority - b.priority);
  return {
    get: (name) => adapters.get(name),
    eligible: (country) =>
      ordered
        .filter((c) => c.countries.length === 0 || c.countries.includes(country))
        .map((c) => c.name),
    close: async () => {
      await Promise.all([...adapters.values()].map((a) => a.close()));
    },
  };
}
