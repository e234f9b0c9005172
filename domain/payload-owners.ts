/**
 * Whose data a decoded Temporal payload is, as far as its content says: the tenants it names (`tenant`
 * fields) and the messages it refers to (message ids anywhere in it). The codec server shows a
 * tenant's operator only the payloads that belong to that tenant, and audits the messages revealed.
 */
import { isMessageId } from './ids';

export interface PayloadReferences {
  tenants: string[];
  messageIds: string[];
}

/** How deep a decoded value is searched (workflow inputs and activity results are shallow). */
const MAX_DEPTH = 8;

/** The tenants and message ids a decoded JSON value names (each once, in order of appearance). */
export function payloadReferences(value: unknown): PayloadReferences {
  const tenants = new Set<string>();
  const messageIds = new Set<string>();
  const walk = (v: unknown, key: string | undefined, depth: number): void => {
    if (typeof v === 'string') {
      if (key === 'tenant') tenants.add(v);
      if (isMessageId(v)) messageIds.add(v);
      return;
    }
    if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) for (const item of v) walk(item, key, depth + 1);
    else for (const [k, item] of Object.entries(v)) walk(item, k, depth + 1);
  };
  walk(value, undefined, 0);
  return { tenants: [...tenants], messageIds: [...messageIds] };
}

/**
 * Whether a payload may be shown to an operator of `tenant`: it names at least one tenant or message,
 * and every one of them is that tenant's (`owners` maps each message id to its tenant; an unknown
 * message is nobody's). A payload that names nothing cannot be attributed, so it is withheld.
 */
export function belongsTo(
  refs: PayloadReferences,
  owners: ReadonlyMap<string, string>,
  tenant: string,
): boolean {
  if (refs.tenants.length === 0 && refs.messageIds.length === 0) return false;
  return (
    refs.tenants.every((t) => t === tenant) &&
    refs.messageIds.every((id) => owners.get(id) === tenant)
  );
}
