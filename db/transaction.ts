/**
 * One transaction on one pooled connection, with the begin/commit/rollback/release steps every
 * caller would otherwise repeat (and get subtly different).
 */
import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in a transaction on a connection of `db`: commits when it returns, rolls back and
 * rethrows when it throws. `commitIf` may turn a normal result into a rollback (a dry run, a
 * refusal counted inside the transaction): the result is still returned. A connection whose
 * rollback failed is destroyed rather than handed back to the pool in an unknown state.
 */
export async function withTransaction<T>(
  db: Pool,
  fn: (tx: PoolClient) => Promise<T>,
  { commitIf }: { commitIf?: (result: T) => boolean } = {},
): Promise<T> {
  const tx = await db.connect();
  let broken: Error | undefined;
  try {
    await tx.query('begin');
    const result = await fn(tx);
    await tx.query(!commitIf || commitIf(result) ? 'commit' : 'rollback');
    return result;
  } catch (err) {
    await tx.query('rollback').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    tx.release(broken);
  }
}
