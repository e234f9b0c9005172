/** The database: every text-like column of every table in the `public` schema, searched in SQL. */
import type { Pool } from 'pg';
import { foldingTable } from '../../domain/masking';
import type { Findings, Matcher } from './matcher';

const TEXT_LIKE_TYPES = [
  'text',
  'character varying',
  'character',
  'json',
  'jsonb',
  'ARRAY',
  'USER-DEFINED',
  'bytea',
];

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const likePattern = (needle: string) => `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function scanDatabase(
  db: Pool,
  matcher: Matcher,
  findings: Findings,
  excludeTables: readonly string[] = [],
): Promise<void> {
  const { rows: columns } = await db.query<{ table: string; column: string; type: string }>(
    `select c.table_name as "table", c.column_name as "column", c.data_type as "type"
       from information_schema.columns c
       join information_schema.tables t
         on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
        and c.data_type = any($1::text[]) and not (c.table_name = any($2::text[]))
      order by c.table_name, c.ordinal_position`,
    [TEXT_LIKE_TYPES, [...excludeTables]],
  );
  const patterns = matcher.folded.map(likePattern);
  const { from, to } = foldingTable();
  const queue = [...columns];
  const workers = Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let col = queue.shift(); col; col = queue.shift()) {
      const ident = quoteIdent(col.column);
      // bytea: printable ASCII as it is, other bytes as octal escapes. Text is folded like the
      // needles (every decimal digit ASCII, spaces plain and single, dashes '-', format characters
      // out) when it has anything to fold: translate() costs its 900-character table per character.
      const asText =
        col.type === 'bytea'
          ? `encode(${ident}, 'escape')`
          : `case when ${ident}::text ~ '[^\\x20-\\x7e]|  '
                  then regexp_replace(translate(${ident}::text, $2, $3), ' {2,}', ' ', 'g')
                  else ${ident}::text end`;
      // One pass over the table, each value folded once, then tested against every pattern; only
      // the indices of the patterns that matched come back, never a value.
      const { rows } = await db.query<{ i: number }>(
        `with t as materialized (select ${asText} as v from public.${quoteIdent(col.table)})
         select distinct p.i::int as i
           from t cross join unnest($1::text[]) with ordinality as p(pattern, i)
          where t.v like p.pattern`,
        col.type === 'bytea' ? [patterns] : [patterns, from, to],
      );
      for (const i of matcher.keepLongest(rows.map((r) => r.i - 1))) {
        findings.add('database', `${col.table}.${col.column}`, i);
      }
    }
  });
  await Promise.all(workers);
}
