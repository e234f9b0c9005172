/**
 * What the API, the workers and the workflows share about the SendMessage workflow: its input, signals,
 * queries and our search attributes. Imported by `api/` and `workflows/`; safe in the workflow sandbox.
 * The words they use (regions, purposes, statuses) live in `domain/`.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AcceptedMessage } from '../domain/accepted-message';
import type { ReceiptStatus } from '../domain/receipts';
import type { MessageStatus } from '../domain/statuses';

/**
 * The SendMessage workflow's input: references and redacted metadata only. The number and text are
 * sealed under the region's key in `message_intake` (by the API, at accept) and read by the
 * region's worker in the tokenize step, so neither Temporal nor any process outside the region holds them.
 */
export interface SendMessageInput extends AcceptedMessage {
  /** A sender the client asked for (must belong to one of its pools). */
  sender?: string;
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
  status: ReceiptStatus;
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
