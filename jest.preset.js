// Shared Jest settings: swc transpiles TypeScript (with decorator metadata for NestJS),
// and the tsconfig path aliases map to each lib's source.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias.replace('/', '\\/')}$`] = path.join(__dirname, target);
}

// npm packages published as ES modules only. Jest runs CommonJS here and, without
// --experimental-vm-modules, cannot require() them (its require(esm) support needs that flag even on
// Node 24), so swc compiles them to CommonJS like our own sources; the rest of node_modules stays untouched.
const esmOnlyPackages = [
  '@platformatic',
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'socks-proxy-agent',
  'agent-base',
];
const esmOnlyPattern = `/node_modules/(?:${esmOnlyPackages.join('|')})/`;

/** Builds a Jest config for one project folder. */
function projectConfig(dir, overrides = {}) {
  const name = path.relative(__dirname, dir).replace(/[\\/]/g, '-');
  return {
    displayName: name,
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/**/*.spec.ts'],
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper,
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: {
            target: 'es2023',
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
          },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
      [`${esmOnlyPattern}.+\\.js$`]: [
        '@swc/jest',
        { jsc: { target: 'es2023' }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
      ],
    },
    transformIgnorePatterns: [`/node_modules/(?!(?:${esmOnlyPackages.join('|')})/)`],
    ...overrides,
  };
}

/**
 * A Jest config for a project whose tests run service processes against real servers (`kafka`,
 * `nats`) started once for the whole run by libs/testing's global setup. The files run one at a time:
 * processes of one file never compete with another's for the machine, which keeps crash tests' timing
 * honest; the servers are shared, so no test may kill or restart them.
 */
function sharedServersConfig(dir, servers, overrides = {}) {
  return {
    ...projectConfig(dir, {
      globalSetup: '<rootDir>/../../libs/testing/src/servers/jest-global-setup.ts',
      globalTeardown: '<rootDir>/../../libs/testing/src/servers/jest-global-teardown.ts',
      globals: { testServers: servers },
      ...overrides,
    }),
    maxWorkers: 1,
  };
}

module.exports = { projectConfig, sharedServersConfig };
