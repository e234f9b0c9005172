import { CarrierErrorType } from '../domain/error-types';
import type { DeliveryReceipt, ReceiptStatus } from '../domain/receipts';

/** How a carrier failure should be handled: one of the pipeline's error types (domain/error-types.ts). */
export { CarrierErrorType };

/**
 * Thrown when a carrier refuses, fails or cannot be reached for a submit.
 *
 * The message is built only from the carrier name, the error type and protocol codes: it never
 * carries a phone number or a message body, so it is safe in logs and Temporal failures.
 */
export class CarrierError extends Error {
  override readonly name = 'CarrierError';
  readonly type: CarrierErrorType;
  readonly carrier: string;
  /** SMPP command_status (or HTTP status for HTTP carriers). */
  readonly commandStatus?: number;
  /** Delay the carrier asked for before the next attempt. */
  readonly retryAfterMs?: number;

  constructor(
    type: CarrierErrorType,
    carrier: string,
    message: string,
    extra: { commandStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`${carrier}: ${message}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.type = type;
    this.carrier = carrier;
    if (extra.commandStatus !== undefined) this.commandStatus = extra.commandStatus;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
  }

  /** Whitelisted fields only (never a cause that could hold a raw response). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      type: this.type,
      carrier: this.carrier,
      message: this.message,
      commandStatus: this.commandStatus,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** True for a {@link CarrierError}, also across realms (checks the name and type, not `instanceof`). */
export function isCarrierError(e: unknown): e is CarrierError {
  return (
    e instanceof CarrierError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'CarrierError' &&
      (Object.values(CarrierErrorType) as unknown[]).includes((e as { type?: unknown }).type))
  );
}

/** SMPP 3.4 command_status values we name or classify. */
export const SmppStatus = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVSRCADR: 0x0a,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RINVESMCLASS: 0x43,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RINVSRCTON: 0x48,
  ESME_RINVSRCNPI: 0x49,
  ESME_RINVDSTTON: 0x50,
  ESME_RINVDSTNPI: 0x51,
  ESME_RTHROTTLED: 0x58,
  ESME_RINVSCHED: 0x61,
  ESME_RINVEXPIRY: 0x62,
  ESME_RX_T_APPN: 0x64,
  ESME_RX_P_APPN: 0x65,
  ESME_RX_R_APPN: 0x66,
  ESME_RUNKNOWNERR: 0xff,
  ESME_RPROHIBITED: 0x101,
  ESME_RINVDCS: 0x104,
} as const;

const statusNames = new Map<number, string>(
  Object.entries(SmppStatus).map(([k, v]) => [v, k] as const),
);

/** `ESME_RTHROTTLED (0x58)`-style label for logs and error messages. */
export function smppStatusLabel(commandStatus: number): string {
  const hex = `0x${commandStatus.toString(16).padStart(2, '0')}`;
  const name = statusNames.get(commandStatus);
  return name ? `${name} (${hex})` : hex;
}

const THROTTLED_STATUSES = new Set<number>([SmppStatus.ESME_RTHROTTLED, SmppStatus.ESME_RMSGQFUL]);
const PERMANENT_STATUSES = new Set<number>([
  SmppStatus.ESME_RINVMSGLEN,
  SmppStatus.ESME_RINVSRCADR,
  SmppStatus.ESME_RINVDSTADR,
  SmppStatus.ESME_RINVESMCLASS,
  SmppStatus.ESME_RINVSRCTON,
  SmppStatus.ESME_RINVSRCNPI,
  SmppStatus.ESME_RINVDSTTON,
  SmppStatus.ESME_RINVDSTNPI,
  SmppStatus.ESME_RINVSCHED,
  SmppStatus.ESME_RINVEXPIRY,
  SmppStatus.ESME_RX_P_APPN,
  SmppStatus.ESME_RX_R_APPN,
  SmppStatus.ESME_RPROHIBITED,
  SmppStatus.ESME_RINVDCS,
]);

/**
 * Classifies a non-zero SMPP 3.4 submit_sm_resp command_status.
 *
 * THROTTLED: ESME_RTHROTTLED, ESME_RMSGQFUL. PERMANENT: invalid message length, source or
 * destination address/TON/NPI, esm_class, schedule, expiry, data coding, ESME_RX_P_APPN,
 * ESME_RX_R_APPN, ESME_RPROHIBITED. Everything else, including codes we do not know
 * (ESME_RSYSERR, ESME_RSUBMITFAIL, ESME_RX_T_APPN, vendor codes), is TRANSIENT: an unknown code
 * must not burn a message that a retry could deliver. 0 (ESME_ROK) is not an error; callers check
 * it first.
 */
export function classifySmppStatus(commandStatus: number): CarrierErrorType {
  if (THROTTLED_STATUSES.has(commandStatus)) return CarrierErrorType.THROTTLED;
  if (PERMANENT_STATUSES.has(commandStatus)) return CarrierErrorType.PERMANENT;
  return CarrierErrorType.TRANSIENT;
}

/** SMPP 3.4 message_state TLV values (§5.2.28). */
export const SmppMessageState = {
  ENROUTE: 1,
  DELIVERED: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIVERABLE: 5,
  ACCEPTED: 6,
  UNKNOWN: 7,
  REJECTED: 8,
} as const;

const STATE_TO_STATUS: Record<number, ReceiptStatus> = {
  // ENROUTE is not final; `accepted` is the closest non-final status of the port.
  1: 'accepted',
  2: 'delivered',
  3: 'expired',
  4: 'deleted',
  5: 'undeliverable',
  6: 'accepted',
  7: 'unknown',
  8: 'rejected',
};

/** Maps an SMPP message_state TLV value to a receipt status (`unknown` for anything else). */
export function statusFromMessageState(state: number): ReceiptStatus {
  return STATE_TO_STATUS[state] ?? 'unknown';
}

const STAT_TO_STATUS: Record<string, ReceiptStatus> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undeliverable',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
  UNKNOWN: 'unknown',
  DELETED: 'deleted',
  ACCEPTD: 'accepted',
  ENROUTE: 'accepted',
};

/** Maps a receipt text `stat:` value (DELIVRD, UNDELIV, …) to a receipt status. */
export function statusFromStat(stat: string): ReceiptStatus {
  return STAT_TO_STATUS[stat.toUpperCase()] ?? 'unknown';
}

/** `YYMMDDhhmm[ss]` (SMSC local time, assumed UTC) → ISO 8601, or undefined when malformed. */
export function parseReceiptDate(value: string): string | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(value);
  if (!m) return undefined;
  const [, yy, mo, dd, hh, mi, ss = '00'] = m;
  const iso = `20${yy}-${mo}-${dd}T${hh}:${mi}:${ss}.000Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || d.toISOString() !== iso ? undefined : iso;
}

/**
 * Parses the de-facto standard SMPP receipt text (SMPP 3.4 Appendix B):
 * `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
 * err:E text:...`. Field names are matched case-insensitively; `text:` is ignored.
 *
 * @throws TypeError when there is no `id:` field (the message never includes the text itself).
 */
export function parseReceiptText(text: string): DeliveryReceipt {
  // Only look before `text:` — the tail is (a prefix of) the message body.
  const head = text.split(/\btext:/i)[0] ?? '';
  const field = (name: string): string | undefined =>
    new RegExp(`(?:^|\\s)${name}:(\\S+)`, 'i').exec(head)?.[1];
  const id = field('id');
  if (!id) throw new TypeError('delivery receipt text has no id field');
  const receipt: DeliveryReceipt = {
    carrierMessageId: id,
    status: statusFromStat(field('stat') ?? 'UNKNOWN'),
  };
  const err = field('err');
  if (err !== undefined) receipt.errorCode = err;
  const done = field('done date');
  const doneAt = done === undefined ? undefined : parseReceiptDate(done);
  if (doneAt !== undefined) receipt.doneAt = doneAt;
  return receipt;
}
