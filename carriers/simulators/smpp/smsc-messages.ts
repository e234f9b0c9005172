import { reassemble, type DecodedPart } from '../../../domain/encoding';
import type { ReceivedPart, SimulatedMessage } from './smsc-types';

/**
 * Joins the accepted parts back into messages: single parts as they are, concatenated parts by
 * source, destination, reference and total (a repeated part number starts a new message), in
 * part order; `complete` is false while parts are missing.
 */
export function joinMessages(received: readonly ReceivedPart[]): SimulatedMessage[] {
  interface Group {
    parts: ReceivedPart[];
    total: number;
    key?: string;
  }
  const groups: Group[] = [];
  const open = new Map<string, Group>();
  for (const part of received) {
    if (part.commandStatus !== 0) continue;
    const udh = part.udh;
    if (!udh || udh.total <= 1) {
      groups.push({ parts: [part], total: 1 });
      continue;
    }
    const key = `${part.source}\u0000${part.destination}\u0000${udh.ref}\u0000${udh.total}`;
    let g = open.get(key);
    if (!g || g.parts.length >= g.total || g.parts.some((p) => p.udh?.seq === udh.seq)) {
      g = { parts: [], total: udh.total, key };
      open.set(key, g);
      groups.push(g);
    }
    g.parts.push(part);
  }
  return groups.map((g) => {
    const ordered = [...g.parts].sort((a, b) => (a.udh?.seq ?? 0) - (b.udh?.seq ?? 0));
    const first = ordered[0] as ReceivedPart;
    const complete = ordered.length === g.total;
    const decoded: DecodedPart[] = ordered.map((p) =>
      p.udh ? { text: p.text, udh: p.udh } : { text: p.text },
    );
    const msg: SimulatedMessage = {
      source: first.source,
      destination: first.destination,
      text: complete ? reassemble(decoded) : ordered.map((p) => p.text).join(''),
      encoding: first.dataCoding === 8 ? 'UCS2' : 'GSM7',
      dataCoding: first.dataCoding,
      parts: ordered.length,
      messageIds: ordered.map((p) => p.messageId),
      complete,
    };
    if (first.udh) msg.ref = first.udh.ref;
    return msg;
  });
}
