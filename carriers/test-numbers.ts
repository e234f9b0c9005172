import type { Logger } from 'pino';
import { measure } from '../domain/encoding';
import {
  DELAYED_RECEIPT_MS,
  TestNumberBehaviour,
  testNumberBehaviour,
} from '../domain/test-numbers';
import { CarrierError, CarrierErrorType, SmppStatus } from './errors';
import type { CarrierAdapter, DeliveryReceipt, SubmitHooks, SubmitRequest } from './types';

/** How quickly a test number's ordinary receipt follows its submit. */
const RECEIPT_DELAY_MS = 50;

/**
 * Wraps a carrier adapter so that the documented test numbers (domain/test-numbers.ts) are
 * answered here and never reach the carrier, whatever the configuration. Their receipts go through
 * `onReceipt`, the same path as a real carrier's, so the journal, the workflow and the callbacks
 * behave exactly as for a real message. Every other number passes through untouched.
 */
export function withTestNumbers(
  adapter: CarrierAdapter,
  { log, onReceipt }: { log: Logger; onReceipt: (r: DeliveryReceipt) => Promise<void> },
): CarrierAdapter {
  const timers = new Set<NodeJS.Timeout>();
  const receiptLater = (r: DeliveryReceipt, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      onReceipt(r).catch((err: unknown) =>
        log.warn(
          { err: (err as Error).name, carrierMessageId: r.carrierMessageId },
          'test-number receipt not routed',
        ),
      );
    }, ms);
    timers.add(t);
  };

  async function answer(behaviour: TestNumberBehaviour, req: SubmitRequest, hooks?: SubmitHooks) {
    const refuse = (type: CarrierErrorType, what: string, commandStatus?: number): never => {
      throw new CarrierError(type, adapter.name, `test number: ${what}`, { commandStatus });
    };
    if (behaviour === TestNumberBehaviour.OPTED_OUT)
      refuse(CarrierErrorType.OPTED_OUT, 'recipient opted out');
    if (behaviour === TestNumberBehaviour.PERMANENT_FAILURE)
      refuse(CarrierErrorType.PERMANENT, 'invalid destination', SmppStatus.ESME_RINVDSTADR);
    if (behaviour === TestNumberBehaviour.TRANSIENT_FAILURE && (req.attempt ?? 1) <= 1)
      refuse(CarrierErrorType.TRANSIENT, 'system error', SmppStatus.ESME_RSYSERR);
    if (req.notAfter !== undefined && Date.now() >= req.notAfter)
      refuse(CarrierErrorType.VALIDITY_EXPIRED, 'validity ended');
    const { encoding, segments } = measure(req.text);
    // Ids derive from our message id, so a retry reuses them; acknowledged parts are journaled as usual.
    const ids: string[] = [];
    for (let i = 0; i < segments; i++) {
      const acked = req.ackedParts?.[i];
      const id = acked ?? `test-${adapter.name}-${req.messageId}-${i}`;
      if (acked === undefined) await hooks?.onPartAcked?.(i, id);
      ids.push(id);
    }
    const delay =
      behaviour === TestNumberBehaviour.DELAYED_RECEIPT ? DELAYED_RECEIPT_MS : RECEIPT_DELAY_MS;
    for (const carrierMessageId of ids)
      receiptLater(
        { carrierMessageId, status: 'delivered', doneAt: new Date().toISOString() },
        delay,
      );
    log.info({ messageId: req.messageId, behaviour }, 'test number answered by the carrier layer');
    return { carrierMessageIds: ids, parts: segments, encoding };
  }

  return {
    name: adapter.name,
    submit(req, hooks) {
      const behaviour = testNumberBehaviour(req.to);
      return behaviour ? answer(behaviour, req, hooks) : adapter.submit(req, hooks);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await adapter.close();
    },
  };
}
