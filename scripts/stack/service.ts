/** One service of the local stack, as the stack script drives it. */
export interface Service {
  name: string;
  /** Address and facts for `stack:status` (no secrets). */
  describe(): string;
  /** True when the service answers as it should (not merely that a process exists). */
  healthy(): Promise<boolean>;
  /** True when a process the stack started is alive. */
  running(): boolean;
  /** Starts the service and waits until it is healthy and configured. */
  start(): Promise<void>;
  /** Configuration that must hold on every `up`, even when the service was already running (idempotent). */
  configure?(): Promise<void>;
  /** Stops the service if the stack started it; returns whether it was running. */
  stop(): Promise<boolean>;
}
