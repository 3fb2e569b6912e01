// One nats-server for every test file of the project (its tests kill service processes, never NATS).
module.exports = require('../../jest.preset').sharedServersConfig(__dirname, ['nats']);
