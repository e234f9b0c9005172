import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREBUILT_BUNDLE_FILE, prebuiltWorkflowBundle } from '../../workers/bundle';

/** A build folder with compiled workflows and, optionally, a bundle `age` seconds older than them. */
function build(bundleAgeSeconds?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  mkdirSync(join(dir, 'workflows'));
  const workflows = join(dir, 'workflows', 'index.js');
  writeFileSync(workflows, 'exports.x = 1;');
  const now = Date.now() / 1000;
  utimesSync(workflows, now, now);
  if (bundleAgeSeconds !== undefined) {
    const bundle = join(dir, PREBUILT_BUNDLE_FILE);
    writeFileSync(bundle, '/* bundle */');
    utimesSync(bundle, now - bundleAgeSeconds, now - bundleAgeSeconds);
  }
  return dir;
}

describe('prebuilt workflow bundle', () => {
  test('a bundle made with (or after) the compiled workflows is used', () => {
    expect(prebuiltWorkflowBundle(build(0))).toEqual({ code: '/* bundle */' });
  });

  test('a bundle older than the compiled workflows is stale: the worker bundles at start', () => {
    expect(prebuiltWorkflowBundle(build(60))).toBeUndefined();
  });

  test('no bundle (a tsc without the bundle step, or running from source): undefined', () => {
    expect(prebuiltWorkflowBundle(build())).toBeUndefined();
  });
});
