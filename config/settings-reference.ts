import { z } from 'zod';
import { relative } from 'node:path';
import { ROOT_DIR } from './paths';
import { SETTING_AREAS, type SettingArea } from './settings';

/** One environment variable as documentation lists it. */
export interface SettingReference {
  /** The environment variable, e.g. `API_PORT`. */
  name: string;
  /** The area it belongs to (config/settings.ts `SETTING_AREAS`), e.g. `api`. */
  area: SettingArea;
  /** Its default as the variable's text (`"3000"`), or undefined when it has none or one that follows from other settings (then the description says so). */
  default: string | undefined;
  /** What it does. */
  description: string;
}

/**
 * Every setting of config/settings.ts as data, area by area in their order: what a generator of the
 * configuration reference (docs/configuration.md) reads, so the page cannot drift from the schema.
 * Defaults and descriptions come from the schema itself (its input side, as the environment gives it);
 * a default under the repository (VAULT_CREDENTIALS_DIR) is given relative to it, so the page is the
 * same on every machine.
 */
export function settingsReference(): SettingReference[] {
  return (Object.keys(SETTING_AREAS) as SettingArea[]).flatMap((area) => {
    const json = z.toJSONSchema(z.object(SETTING_AREAS[area]), {
      io: 'input',
      unrepresentable: 'any',
    }) as { properties: Record<string, { default?: unknown; description?: string }> };
    return Object.entries(json.properties).map(([name, p]) => ({
      name,
      area,
      default: p.default === undefined ? undefined : inRepository(String(p.default)),
      description: p.description ?? '',
    }));
  });
}

/** `text` relative to the repository when it is a path under it, else `text`. */
function inRepository(text: string): string {
  return text.startsWith(ROOT_DIR + '/') ? relative(ROOT_DIR, text) : text;
}
