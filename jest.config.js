/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }];
const esmOnly = ['content-disposition', 'cookie'].join('|');
const project = (name, extra = {}) => ({
  displayName: name,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  // A few dependencies of Fastify ship ESM only; Jest on Node 20 cannot require() them untransformed.
  transform: { '^.+\\.ts$': swc, [`/node_modules/(${esmOnly})/.+\\.js$`]: swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly})/)`],
  testEnvironment: 'node',
  ...extra,
});

module.exports = {
  projects: [
    project('unit'),
    project('workflows'),
    project('integration'),
    project('e2e'),
    project('browser'),
    // Restarts the services: `npm test` runs it alone, after everything else.
    project('stack'),
  ],
  testTimeout: 120_000,
};
