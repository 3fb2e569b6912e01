const { projectConfig } = require('../../jest.preset');

// One worker: every spec builds dist/apps/cli/main.js in beforeAll, and two workers writing the
// bundle while a third spawns it could run a half-written file.
module.exports = projectConfig(__dirname, { maxWorkers: 1 });
