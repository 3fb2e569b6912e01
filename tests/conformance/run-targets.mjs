#!/usr/bin/env node
// Runs the conformance suite once per store — memory, Kafka, NATS JetStream, the Kafka broker class — each against a
// standalone process on that store (real servers for the durable ones), with one result file each.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const jest = join(root, 'node_modules', '.bin', 'jest');
const stores =
  process.argv.length > 2 ? process.argv.slice(2) : ['memory', 'kafka', 'jetstream', 'kafka-class'];
const failed = [];
for (const store of stores) {
  const out = store === 'memory' ? 'conformance' : `conformance-${store}`;
  console.log(`\n=== conformance on ${store}`);
  const run = spawnSync(
    jest,
    ['-c', 'tests/conformance/jest.config.js', '--json', `--outputFile=test-results/${out}.json`],
    { cwd: root, stdio: 'inherit', env: { ...process.env, CONFORMANCE_STORE: store } },
  );
  if (run.status !== 0) failed.push(store);
}
if (failed.length) console.log(`conformance failed on: ${failed.join(', ')}`);
process.exit(failed.length ? 1 : 0);
