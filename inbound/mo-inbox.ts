import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { MobileOriginated } from '../carriers/smpp/client';
import { appendAudit } from '../db/audit';
import { addOptOut } from '../db/privacy';
import { isOptOutText } from '../domain/opt-out';
import { normalizeRecipient } from '../domain/phone';
import { regionFor } from '../domain/regions';
import { sealSubjectNumber, type SubscriberTokens } from '../encryption/subscriber-token';
import type { VaultClient } from '../clients/vault';

/**
 * Handles mobile-originated messages from the SMPP carrier sessions: an opt-out keyword (see
 * `OPT_OUT_KEYWORDS`) adds the sender, as its subscriber token, to the suppression list of every
 * tenant with a pool holding the destination number. The text and the sender's number are personal
 * data: they are never logged; the number is stored only sealed under its region's key, beside the
 * tenant's keyed token, so a token rotation can re-derive it. Any other MO is acknowledged
 * and dropped. A rejection makes the SMPP session answer a temporary error, so the SMSC redelivers.
 */
export function createMoInbox({
  db,
  vault,
  tokens,
  keywords,
  log,
}: {
  db: Pool;
  vault: VaultClient;
  /** The sender's subscriber token at each tenant. */
  tokens: Pick<SubscriberTokens, 'of'>;
  keywords: readonly string[];
  log: Logger;
}) {
  return async function onMobileOriginated(carrier: string, mo: MobileOriginated): Promise<void> {
    if (!isOptOutText(mo.text, keywords)) {
      log.debug({ carrier }, 'MO is not an opt-out; dropped');
      return;
    }
    const sender = normalizeRecipient(mo.from);
    if (!sender.ok) {
      log.warn({ carrier, reason: sender.reason }, 'opt-out MO from an unusable number; dropped');
      return;
    }
    const { rows } = await db.query<{ tenant: string }>(
      `select distinct p.tenant from pool_numbers n join number_pools p on p.id = n.pool_id
        where n.number = $1`,
      [mo.to],
    );
    if (rows.length === 0) {
      log.warn({ carrier }, 'opt-out MO to a number no tenant owns; dropped');
      return;
    }
    const sealed = await sealSubjectNumber(vault, sender.e164, regionFor(sender.country));
    for (const { tenant } of rows) {
      const { id, created } = await addOptOut(
        db,
        tenant,
        await tokens.of(tenant, sender.e164),
        'mo',
        sealed,
      );
      if (created) {
        await appendAudit(db, {
          actor: 'system:worker',
          tenant,
          action: 'optout.added',
          subject: `optout_${id}`,
          detail: { source: 'mo', carrier },
        });
      }
      log.info({ carrier, tenant, created }, 'opt-out from MO');
    }
  };
}
