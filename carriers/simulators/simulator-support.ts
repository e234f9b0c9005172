/** Pieces both carrier simulators (SMPP and HTTP) share. Dev and test tools only. */

/** A deterministic PRNG (mulberry32), so a seeded simulator fails the same submits on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Closes the simulator on SIGINT/SIGTERM and exits (1 if closing failed). */
export function closeOnSignals(sim: { close(): Promise<void> }): void {
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Runs `fn` after `ms`, keeping the timer in `timers` so that closing the simulator clears it. */
export function later(timers: Set<NodeJS.Timeout>, ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
}
