import { z } from 'zod';

/**
 * Thrown when an environment variable holds a value the process cannot run with.
 * The message names the variable and the rule, never the value (it may be a secret).
 */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Thrown when a port a process must listen on is taken; names the port and the setting that moves it. */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly variable: string,
  ) {
    super(`${host}:${port} is already in use; set ${variable} to another port`);
    this.name = 'PortInUseError';
  }
}

/** Parses `env` with `schema` once; on failure throws a ConfigError naming each bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
): Readonly<z.infer<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  return Object.freeze(result.data);
}

export const port = (fallback: number) =>
  z.coerce.number().int().min(0).max(65535).default(fallback);
export const host = (fallback: string) => z.string().min(1).default(fallback);
export const optionalString = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v));

/** An optional integer setting; empty (as `.env.example` leaves it) counts as unset. */
export const optionalInt = (min: number, max: number) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(min).max(max).optional(),
  );
