import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../../config/paths';
import {
  CONFIGURATION_DOC,
  configurationDoc,
  renderConfigurationMarkdown,
} from '../../scripts/docs-config';
import { configurationSettings } from '../../scripts/docs-config-settings';

describe('docs/configuration.md', () => {
  test('is what `npm run docs:config` generates from the configuration schema today', () => {
    const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
    if (committed !== configurationDoc()) {
      throw new Error(
        'docs/configuration.md is out of date with the configuration schema: run `npm run docs:config` and commit the result',
      );
    }
  });

  test('lists every setting of the schema once, with its description', () => {
    const names = configurationSettings().flatMap((g) => g.settings.map((s) => s.name));
    expect(new Set(names).size).toBe(names.length);
    const page = readFileSync(CONFIGURATION_DOC, 'utf8');
    for (const name of names) expect(page).toContain(`| \`${name}\``);
    for (const group of configurationSettings())
      for (const s of group.settings) expect(s.description.trim()).not.toBe('');
  });

  test('shows paths inside the checkout relative to it, and escapes table pipes', () => {
    const md = renderConfigurationMarkdown([
      {
        title: 'Example',
        settings: [
          { name: 'A_DIR', default: join(ROOT_DIR, '.data', 'x'), description: 'a | b' },
          { name: 'B', default: undefined, description: 'none' },
          { name: 'C', default: '', description: 'empty list' },
        ],
      },
    ]);
    expect(md).toContain('| `A_DIR` | `.data/x` | a \\| b |');
    expect(md).toContain('| `B` | unset | none |');
    expect(md).toContain('| `C` | empty | empty list |');
  });
});
