module.exports = require('../../jest.preset').projectConfig(__dirname, { testTimeout: 30000 });
