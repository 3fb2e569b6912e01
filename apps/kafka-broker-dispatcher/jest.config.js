const { projectConfig } = require('../../jest.preset');

// One Kafka for every test file of the project (the tests kill receivers and dispatchers, never Kafka).
module.exports = {
  ...projectConfig(__dirname, {
    globalSetup: '<rootDir>/../../libs/testing/src/servers/jest-global-setup.ts',
    globalTeardown: '<rootDir>/../../libs/testing/src/servers/jest-global-teardown.ts',
    globals: { testServers: ['kafka'] },
  }),
  // The files run service processes against one Kafka: one at a time keeps their timing honest.
  maxWorkers: 1,
};
