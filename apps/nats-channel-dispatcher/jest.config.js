const { projectConfig } = require('../../jest.preset');

// One nats-server for every test file of the project (the crash test kills dispatchers, never NATS).
module.exports = {
  ...projectConfig(__dirname, {
    globalSetup: '<rootDir>/../../libs/testing/src/servers/jest-global-setup.ts',
    globalTeardown: '<rootDir>/../../libs/testing/src/servers/jest-global-teardown.ts',
    globals: { testServers: ['nats'] },
  }),
  // The files run dispatcher processes against one NATS server: one at a time keeps the crash test's timing honest.
  maxWorkers: 1,
};
