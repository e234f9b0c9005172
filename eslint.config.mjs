import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ours = (...dirs) =>
  dirs.flatMap((d) => [`../${d}`, `../${d}/*`, `../../${d}`, `../../${d}/*`]);

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      '.data',
      '.tools',
      'coverage',
      'test-output',
      '*.js',
      '*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Small units (issue 19): no source file over 400 lines, no function over 120, counted as the
    // rules' defaults count (blank lines and comments included). Tests aside: a test file is a table of cases.
    files: ['**/*.ts'],
    ignores: ['test/**'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 120 }],
    },
  },
  {
    // Imports flow one way: domain/ is pure and imports nothing of ours.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ours(
                'api',
                'activities',
                'workers',
                'workflows',
                'config',
                'carriers',
                'db',
                'scripts',
                'clients',
                'encryption',
                'inbound',
                'relay',
                'processes',
                'codec-server',
                'bench',
                'test',
              ),
              message: 'domain/ is pure: it imports nothing of ours.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflows are deterministic orchestration: no Node built-ins, only types from activities/.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code runs in the deterministic sandbox.',
          })),
          patterns: [
            {
              group: ours(
                'api',
                'workers',
                'config',
                'carriers',
                'db',
                'scripts',
                'clients',
                'encryption',
                'inbound',
                'relay',
                'codec-server',
              ),
              message: 'Workflows import domain/ and only types from activities/.',
            },
            {
              group: ours('activities'),
              allowTypeImports: true,
              message: 'Workflows import only types from activities/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Activities, SQL and clients are below the workflows: they never import workflow code (the shared
    // words live in domain/; what an activity needs of a workflow is injected by workers/).
    files: ['activities/**/*.ts', 'db/**/*.ts', 'clients/**/*.ts', 'encryption/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ours('workflows'),
              message:
                'activities/, db/, clients/ and encryption/ never import workflows/: shared words live in domain/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The API starts and signals workflows; it never runs activities nor talks to carriers.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ours('activities', 'workers'),
              message: 'api/ never imports activities or workers.',
            },
            {
              group: ours('carriers'),
              message: 'The API never talks to carriers (shared words live in domain/).',
            },
            {
              group: ours('codec-server'),
              message:
                'The API never serves the codec server (its own process, processes/codec-server.ts): it must not hold its Vault identity.',
            },
          ],
        },
      ],
    },
  },
  {
    // The codec server decodes payloads for operators: it reuses the API's HTTP plumbing (api/plugins/)
    // but never runs workflows, activities or workers, never talks to carriers, and starts nothing.
    files: ['codec-server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ours('activities', 'workers', 'workflows', 'carriers', 'relay', 'inbound'),
              message:
                'codec-server/ imports domain/, db/, encryption/, clients/, config/ and api/plugins/ only.',
            },
            {
              group: ['../api/routes', '../api/routes/*', '../api/app', '../../api/routes/*'],
              message: 'codec-server/ reuses api/plugins/, never the API app or its routes.',
            },
          ],
        },
      ],
    },
  },
  {
    // The reviewer page's script runs in the browser, as a classic script: no type information,
    // browser globals only.
    files: ['api/review-page/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: {
        document: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
