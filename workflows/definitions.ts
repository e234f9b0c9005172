/**
 * What the API, the workers and the workflows share: task queues, the SendMessage input, its signals,
 * queries and statuses. Imported by `api/` and `workflows/`; safe in the workflow sandbox.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** One task queue per data-residency region: a message's personal-data activities run only on its region's workers. */
export const TASK_QUEUES = {
  global: 'sms-global',
  eu: 'sms-eu',
  cn: 'sms-cn',
} as const;
export type Region = keyof typeof TASK_QUEUES;

/** The task queue of `region`; `prefix` isolates test runs (empty in production). */
export const taskQueueFor = (region: Region, prefix = '') => `${prefix}${TASK_QUEUES[region]}`;

export const PURPOSES = ['otp', 'transactional', 'marketing'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** Every status a message can have; the final ones end its workflow. */
export const MessageStatus = {
  ACCEPTED: 'accepted',
  TOKENIZED: 'tokenized',
  /** Waiting durably for its `sendAt` time (sending controls). */
  SCHEDULED: 'scheduled',
  /** Held by a country velocity rule until the window allows it (sending controls). */
  HELD: 'held',
  /** Waiting for a pre-send human review decision (review). */
  IN_REVIEW: 'in_review',
  ROUTED: 'routed',
  SUBMITTED: 'submitted',
  DELIVERED: 'delivered',
  UNDELIVERED: 'undelivered',
  /** Submitted, but no final receipt arrived within the receipt timeout. */
  UNCONFIRMED: 'unconfirmed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  /** The subject opted out of this tenant's messages; never dispatched (retention and opt-out). */
  SUPPRESSED: 'suppressed',
  /** A pre-send reviewer rejected it; never dispatched (review). */
  REJECTED_BY_REVIEW: 'rejected_by_review',
  /** Not dispatched within its validity; never sent late (sending controls). */
  EXPIRED: 'expired',
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

export const FINAL_STATUSES: readonly MessageStatus[] = [
  MessageStatus.DELIVERED,
  MessageStatus.UNDELIVERED,
  MessageStatus.UNCONFIRMED,
  MessageStatus.FAILED,
  MessageStatus.CANCELLED,
  MessageStatus.SUPPRESSED,
  MessageStatus.REJECTED_BY_REVIEW,
  MessageStatus.EXPIRED,
];

/**
 * The statuses the `MessageStatus` search attribute takes: those a message can stay in (a durable wait
 * or the end). `tokenized` and `routed` last milliseconds; indexing them would cost the server a
 * visibility write each for nothing an operator could filter on. They stay in the status query, the
 * API's history and PostgreSQL.
 */
export const INDEXED_STATUSES: readonly MessageStatus[] = [
  MessageStatus.ACCEPTED,
  MessageStatus.SCHEDULED,
  MessageStatus.HELD,
  MessageStatus.IN_REVIEW,
  MessageStatus.SUBMITTED,
  ...FINAL_STATUSES,
];

/**
 * The SendMessage workflow's input: references and redacted metadata only. The number and text are
 * sealed under the region's key in `message_intake` (by the API, at accept) and read by the
 * region's worker in the tokenize step, so neither Temporal nor any process outside the region holds them.
 */
export interface SendMessageInput {
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
  /** A sender the client asked for (must belong to one of its pools). */
  sender?: string;
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
  /** Sending policy decided at admission (workflows/admission.ts); absent for older messages. */
  policy?: {
    /** Epoch ms until which an OTP is held by its country's velocity limit. */
    holdUntil?: number;
    /** A charge row was recorded at accept; released if the message never reaches a carrier. */
    charged: boolean;
  };
  /**
   * The number and text, only in workflows started before `message_intake` (they are sealed there at
   * accept time now, and the tokenize activity reads them by `messageId`). Never set by new code.
   * @deprecated
   */
  to?: string;
  /** See `to`. @deprecated */
  body?: string;
}

/** A delivery receipt for one part, routed to the workflow by carrier message id. No personal data. */
export interface DeliveryReceiptSignal {
  carrier: string;
  carrierMessageId: string;
  status:
    'delivered' | 'undeliverable' | 'expired' | 'rejected' | 'unknown' | 'deleted' | 'accepted';
  errorCode?: string;
  doneAt?: string;
}

/** One step of a message's history, as the status query and the API report it. */
export interface StatusEvent {
  status: MessageStatus;
  at: string;
  carrier?: string;
  detail?: string;
}

/** What the `status` query returns: redacted metadata only. */
export interface MessageStatusView {
  messageId: string;
  status: MessageStatus;
  carrier?: string;
  sender?: string;
  segments: number;
  /** Carriers tried so far (each submit may itself retry; the database counts those attempts). */
  attempts: number;
  reason?: string;
  history: StatusEvent[];
}

/** Signal: a carrier's delivery receipt for one part (wire name `deliveryReceipt`). */
export const deliveryReceiptSignal = defineSignal<[DeliveryReceiptSignal]>('deliveryReceipt');

/** Signal: cancel the message if it has not been submitted yet (wire name `cancel`). */
export const cancelSignal = defineSignal<[{ reason?: string }]>('cancel');

/** Query: the message's current status and history (wire name `status`). */
export const getStatusQuery = defineQuery<MessageStatusView>('status');

/** Our custom search attributes (all Keyword, none personal); the stack registers them with the server. */
export const searchAttributes = {
  status: defineSearchAttributeKey('MessageStatus', SearchAttributeType.KEYWORD),
  tenant: defineSearchAttributeKey('Tenant', SearchAttributeType.KEYWORD),
  purpose: defineSearchAttributeKey('Purpose', SearchAttributeType.KEYWORD),
  country: defineSearchAttributeKey('CountryCode', SearchAttributeType.KEYWORD),
  region: defineSearchAttributeKey('Region', SearchAttributeType.KEYWORD),
  carrier: defineSearchAttributeKey('Carrier', SearchAttributeType.KEYWORD),
} as const;
