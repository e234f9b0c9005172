/** Opt-out suppression: step 2 of a message. */
import type { Pool } from 'pg';
import type { SubscriberTokens } from '../../encryption/subscriber-token';
import { isSuppressed } from '../../db/privacy';
import type { Purpose } from '../../domain/purposes';

export interface CheckSuppressionInput {
  tenant: string;
  purpose: Purpose;
  /** The message whose recipient is checked (its tokens are read from PostgreSQL: the workflow holds none). */
  messageId?: string;
  /** The recipient's token, as workflows started before tokens left Temporal pass it. */
  subscriberToken?: string;
}

/** The suppression check over PostgreSQL, the recipient's tokens and the tenants' otp exemption default. */
export function createSuppressionActivities({
  db,
  tokens,
  otpExemptDefault,
}: {
  db: Pool;
  /** The recipient's tokens by message id. */
  tokens: Pick<SubscriberTokens, 'ofMessage'>;
  otpExemptDefault: boolean;
}) {
  return {
    /** Step 2 of a message: is the subscriber on the tenant's suppression list (otp exempt by tenant policy)? */
    async checkSuppression(input: CheckSuppressionInput): Promise<{ suppressed: boolean }> {
      const subscriberTokens = input.messageId
        ? ((await tokens.ofMessage(input.messageId))?.live ?? [])
        : input.subscriberToken
          ? [input.subscriberToken]
          : [];
      return {
        suppressed: await isSuppressed(db, {
          tenant: input.tenant,
          purpose: input.purpose,
          subscriberTokens,
          otpExemptDefault,
        }),
      };
    },
  };
}
