// One Kafka for every test file of the project (its tests kill service processes, never Kafka).
module.exports = require('../../jest.preset').sharedServersConfig(__dirname, ['kafka']);
