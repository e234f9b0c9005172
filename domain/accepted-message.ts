import type { Purpose } from './purposes';
import type { Region } from './regions';

/**
 * An accepted message's references and redacted metadata: what the API records at accept and the
 * workflow and its activities carry. Never the number or the text (those are sealed in
 * `message_intake` under the region's key).
 */
export interface AcceptedMessage {
  messageId: string;
  tenant: string;
  purpose: Purpose;
  region: Region;
  /** ISO 3166 alpha-2 of the destination. */
  country: string;
  /** Calling code and last two digits only (`+44•••••••••56`), for status pages. */
  recipientHint: string;
  encoding: 'GSM7' | 'UCS2';
  segments: number;
  campaign?: string;
  callbackUrl?: string;
  /**
   * Seconds the message may still be handed to a carrier, counted from `sendAt` (else `acceptedAt`);
   * after that it ends `expired`. The API fills in the purpose's default. Also sent to the carrier
   * (SMPP `validity_period`) as the time left at submit.
   */
  validitySeconds?: number;
  /** Epoch ms of a scheduled send (at most 35 days ahead): the workflow waits durably until then. */
  sendAt?: number;
  /** Epoch ms when the API accepted the message. */
  acceptedAt: number;
}
