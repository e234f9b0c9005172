/** What the small command-line scripts share: flag parsing and the run-when-invoked wrapper. */

/** The value after `--<name>` on the command line, if any. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Runs `main` when `mod` is the entry point (not when a test imports it); an error is one line and exit code 1. */
export function runIfMain(mod: NodeJS.Module, main: () => Promise<void>): void {
  if (require.main !== mod) return;
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
