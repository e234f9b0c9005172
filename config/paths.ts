import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest folder above this file that holds package.json (works from `dist/` too). */
export const ROOT_DIR = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
})();

/** Where the local stack keeps its state (databases, OpenBao storage, logs, pid files). Git-ignored. */
export const DATA_DIR = join(ROOT_DIR, '.data');

/** Where the stack script installs tools it could not find on PATH (a Python venv with the Temporal CLI and OpenBao). Git-ignored. */
export const TOOLS_DIR = join(ROOT_DIR, '.tools');
