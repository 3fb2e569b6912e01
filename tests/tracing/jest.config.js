// One event's trace through broker-ingress, imc-dispatcher and broker-filter running as processes,
// and through standalone as one process, exported over OTLP to a receiver the test runs.
module.exports = require('../../jest.preset').projectConfig(__dirname, { testTimeout: 120000 });
