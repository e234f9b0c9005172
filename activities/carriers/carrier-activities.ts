import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { CarrierAdapter } from '../../carriers/types';
import { MessageCipher } from '../../encryption/message-cipher';
import type { VaultClient } from '../../clients/vault';
import { ErrorType } from '../../domain/error-types';
import type { Metrics } from '../../clients/metrics';
import type { Residency } from '../residency';
import { CircuitBreaker } from './breaker';
import {
  submitAdmitted,
  type SettleBreaker,
  type SubmitDeps,
  type SubmitFailureDetails,
  type SubmitToCarrierInput,
  type SubmitToCarrierResult,
} from './submit-to-carrier';

export type {
  SubmitFailureDetails,
  SubmitToCarrierInput,
  SubmitToCarrierResult,
} from './submit-to-carrier';

/** The carriers one worker can reach: adapters by name and the routing order for a destination. */
export interface CarrierDirectory {
  get(name: string): CarrierAdapter | undefined;
  /** Carrier names serving `country`, best first (by priority). */
  eligible(country: string): string[];
}

/**
 * Activities that talk to carriers. The number and body are decrypted just in time inside
 * `submitToCarrier` and never returned, logged or put in an error.
 */
export function createCarrierActivities({
  db,
  vault,
  carriers,
  log,
  breaker = new CircuitBreaker(),
  cipher = new MessageCipher({ vault }),
  metrics,
  residency,
}: {
  db: Pool;
  vault: VaultClient;
  carriers: CarrierDirectory;
  log: Logger;
  breaker?: CircuitBreaker;
  /** Opens the number and body; share the worker's one instance so data keys are cached once. */
  cipher?: MessageCipher;
  metrics?: Metrics;
  /** The worker's region and identity: it decrypts only under its region's transit key. */
  residency?: Residency;
}) {
  const deps: SubmitDeps = { db, log, cipher, metrics, residency };
  return {
    /**
     * Carriers eligible for a destination country, in failover order; those whose circuit is open on
     * this worker come last (still candidates: the message waits for them rather than failing).
     */
    async routeCarriers({ country }: { country: string }): Promise<{ carriers: string[] }> {
      const all = carriers.eligible(country);
      return {
        carriers: [
          ...all.filter((c) => !breaker.isOpen(c)),
          ...all.filter((c) => breaker.isOpen(c)),
        ],
      };
    },

    /**
     * Submits every part not yet acknowledged (the dispatch journal says which) to one carrier.
     * Each acknowledged part is journaled before the next is sent, so a retry after a crash never
     * resubmits it. Throws an ApplicationFailure typed CARRIER_* (permanent and unavailable are
     * non-retryable: the workflow fails over), MESSAGE_PURGED if the ciphertexts are gone, or
     * MESSAGE_ERASED if an erasure of the recipient was requested after the message was accepted.
     */
    async submitToCarrier(input: SubmitToCarrierInput): Promise<SubmitToCarrierResult> {
      if (input.notAfter !== undefined && Date.now() >= input.notAfter)
        throw ApplicationFailure.nonRetryable(
          'the message validity ended before it could be sent',
          ErrorType.VALIDITY_EXPIRED,
        );
      const adapter = carriers.get(input.carrier);
      if (!adapter)
        throw ApplicationFailure.nonRetryable(
          `carrier ${input.carrier} is not configured on this worker`,
          ErrorType.CARRIER_UNAVAILABLE,
        );
      const admission = breaker.admit(input.carrier);
      if (!admission.admitted) {
        // Nothing was sent and no attempt counted: the workflow waits (or fails over), it does not fail.
        const details: SubmitFailureDetails = {
          commandStatus: null,
          retryAfterMs: admission.retryAfterMs,
          ackedParts: {},
          parts: 0,
        };
        throw ApplicationFailure.create({
          message: `${input.carrier}: circuit open`,
          type: ErrorType.CARRIER_UNAVAILABLE,
          nonRetryable: true,
          details: [details],
        });
      }
      let settled = false;
      const settle: SettleBreaker = (outcome) => {
        if (settled) return;
        settled = true;
        breaker[outcome](input.carrier, admission.trial);
      };
      try {
        return await submitAdmitted(deps, input, adapter, settle);
      } finally {
        settle('release');
      }
    },
  };
}

export type CarrierActivities = ReturnType<typeof createCarrierActivities>;
