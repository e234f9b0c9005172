/**
 * The settings docs/configuration.md lists: the app's (config/settings.ts, as data from
 * `settingsReference`), area by area, then those only the local stack script reads (config/stack.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT_DIR } from '../config/paths';
import { settingsReference } from '../config/settings-reference';
import type { SettingArea } from '../config/settings';
import type { SettingGroup } from './docs-config';

/** The heading of each area, listed in config/settings.ts's order (a new area fails to compile until it has one). */
const AREA_TITLES: Record<SettingArea, string> = {
  general: 'General',
  api: 'API',
  temporal: 'Temporal',
  vault: 'Vault',
  database: 'PostgreSQL',
  carriers: 'Carriers',
  retention: 'Retention, purge, erasure and opt-out',
  operations: 'Operations: metrics and anomaly detection',
  regions: 'Regions',
  localStack: 'The local stack, as the app sees it',
};

const STACK_SOURCE = 'config/stack.ts';

/** The `/** … *\/` comment right before a node, as one line of text. */
function tsDoc(node: ts.Node, source: ts.SourceFile): string | undefined {
  const doc = (ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [])
    .map((r) => source.text.slice(r.pos, r.end))
    .filter((c) => c.startsWith('/**'))
    .at(-1);
  return doc
    ?.replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .trim();
}

/** The argument of the default-giving call in a setting's initializer (`port(7233)`, `.default('dev')`). */
function defaultOf(init: ts.Expression): string | undefined {
  let found: string | undefined;
  const visit = (node: ts.Node): void => {
    if (found !== undefined) return;
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee)
        ? callee.name.text
        : ts.isIdentifier(callee)
          ? callee.text
          : '';
      const arg = node.arguments[0];
      if (['default', 'port', 'host'].includes(name) && arg) {
        found = ts.isStringLiteralLike(arg) || ts.isNumericLiteral(arg) ? arg.text : undefined;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(init);
  return found;
}

/**
 * The local stack script's own settings (config/stack.ts's `z.object` schema, which is not data the
 * app exports): each with its TSDoc; settings written right after a documented one, without their
 * own, share its TSDoc (the tool versions are documented as a group).
 */
function stackOnlySettings(listed: ReadonlySet<string>): SettingGroup {
  const source = ts.createSourceFile(
    STACK_SOURCE,
    readFileSync(join(ROOT_DIR, STACK_SOURCE), 'utf8'),
    ts.ScriptTarget.ES2022,
    true,
  );
  const group: SettingGroup = {
    title: 'The local stack script (`npm run stack:up`)',
    settings: [],
  };
  let shared: string | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      node.name.getText(source) === 'schema' &&
      node.initializer &&
      ts.isCallExpression(node.initializer) &&
      node.initializer.arguments[0] &&
      ts.isObjectLiteralExpression(node.initializer.arguments[0])
    ) {
      for (const prop of node.initializer.arguments[0].properties) {
        if (!ts.isPropertyAssignment(prop)) continue;
        const doc = tsDoc(prop, source);
        shared = doc ?? shared;
        const name = prop.name.getText(source);
        if (listed.has(name)) continue;
        group.settings.push({
          name,
          default: defaultOf(prop.initializer),
          description: doc ?? shared ?? '',
        });
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (group.settings.length === 0) throw new Error(`${STACK_SOURCE}: no settings found`);
  return group;
}

/** Every setting the processes and the stack script read, grouped for the page; each name once. */
export function configurationSettings(): SettingGroup[] {
  const reference = settingsReference();
  const areas = [...new Set(reference.map((s) => s.area))];
  const groups = areas.map((area) => ({
    title: AREA_TITLES[area],
    settings: reference
      .filter((s) => s.area === area)
      .map((s) => ({ name: s.name, default: s.default, description: s.description })),
  }));
  return [...groups, stackOnlySettings(new Set(reference.map((s) => s.name)))];
}
