import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import type { Pool } from 'pg';
import type { AuditEntry } from '../db/audit';
import { messageTenants } from '../db/message-owners';
import { belongsTo, payloadReferences, type PayloadReferences } from '../domain/payload-owners';
import { isStepSummary } from '../domain/step-summaries';
import type { Principal } from '../api/plugins/auth';
import { jsonOf, text } from './payloads';

/** What replaces a payload the operator may not see: another tenant's, or one that names no tenant. */
export const WITHHELD = '[withheld: not a payload of your tenant]';

interface ScopedPayload {
  payload: Payload;
  refs: PayloadReferences;
  visible: boolean;
}

export interface Scoped {
  payloads: ScopedPayload[];
  /** The tenant of each message the payloads name. */
  owners: Map<string, string>;
}

/** The references of a decoded payload: JSON is searched, anything else names nobody. */
function referencesOf(p: Payload): PayloadReferences {
  const json = jsonOf(p);
  return json ? payloadReferences(json.value) : { tenants: [], messageIds: [] };
}

/**
 * Which decoded payloads the operator may see: a `platform-operator` sees all of them; any other
 * operator only those that belong to its own tenant (see `belongsTo`: the tenants and messages a
 * payload names, the messages' owners looked up in one query). `binary/null` shows nothing and passes.
 */
export async function scopeToTenant(
  db: Pool,
  decoded: Payload[],
  principal: Principal,
  /** Which payloads arrived encrypted: one stored in the clear (an SDK marker's data) hides nothing. */
  encrypted: boolean[],
): Promise<Scoped> {
  const platform = principal.roles.includes('platform-operator');
  const refs = decoded.map(referencesOf);
  const owners = await messageTenants(db, [...new Set(refs.flatMap((r) => r.messageIds))]);
  const payloads = decoded.map((payload, i) => ({
    payload,
    refs: refs[i]!,
    visible:
      platform ||
      text(payload.metadata?.[METADATA_ENCODING_KEY]) === 'binary/null' ||
      !encrypted[i] ||
      // A step's fixed summary on the timeline is nobody's data: every operator reads it.
      isStepSummary(jsonOf(payload)?.value) ||
      belongsTo(refs[i]!, owners, principal.tenant),
  }));
  return { payloads, owners };
}

/**
 * The audit of one decode: a `codec.decode` row per message whose payloads were revealed (subject:
 * the message id, tenant: the message's), and one row for the request (subject: the namespace) with
 * the counts and the ids.
 */
export function decodeAudit(
  principal: Principal,
  namespace: string,
  { payloads: scoped, owners }: Scoped,
): AuditEntry[] {
  const actor = `operator:${principal.keyId}`;
  const revealed = new Map<string, number>();
  for (const s of scoped)
    if (s.visible)
      for (const id of s.refs.messageIds) revealed.set(id, (revealed.get(id) ?? 0) + 1);
  const scope = principal.roles.includes('platform-operator') ? 'platform' : 'tenant';
  return [
    ...[...revealed].map(([id, payloads]) => ({
      actor,
      tenant: owners.get(id) ?? principal.tenant,
      action: 'codec.decode',
      subject: id,
      detail: { namespace, payloads, scope },
    })),
    {
      actor,
      tenant: principal.tenant,
      action: 'codec.decode',
      subject: namespace,
      detail: {
        payloads: scoped.length,
        revealed: scoped.filter((s) => s.visible).length,
        withheld: scoped.filter((s) => !s.visible).length,
        messages: [...revealed.keys()],
        scope,
      },
    },
  ];
}
