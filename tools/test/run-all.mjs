#!/usr/bin/env node
// Runs every project's tests through Nx, then totals the Jest results of all projects
// into one closing line: "N passed, M failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const results = join(root, 'test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const extra = process.argv.slice(2);
// The test servers are installed (built from the package registries on a fresh machine, cached in
// the user cache afterwards) one after the other before any test runs: on two cores, building them
// inside the tests that first need them would race those tests' own timeouts.
const servers = [
  ['kafka'],
  ['nats'],
  ['kube'],
  ['helm'],
  ['helm', '--v3'],
  ['kubeconform'],
  ['prometheus'],
].map(([name, ...flags]) => [
  `install ${[name, ...flags].join(' ')}`,
  ['node', `tools/test-servers/${name}/install.mjs`, ...flags],
]);
const steps = [
  ...servers,
  ['build', ['node', 'tools/build/build.mjs']],
  ['typecheck', ['npx', 'tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', ['npx', 'nx', 'run-many', '-t', 'lint', '--outputStyle=static']],
  ['format', ['npx', 'prettier', '--check', '.']],
  ['test', ['npx', 'nx', 'run-many', '-t', 'test', '--parallel=2', '--outputStyle=stream', ...extra]],
];
const failedSteps = [];
for (const [name, [cmd, ...args]] of steps) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const run = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  if (run.status !== 0) failedSteps.push(name);
}

let passed = 0;
let failed = 0;
const perProject = [];
for (const file of existsSync(results) ? readdirSync(results) : []) {
  if (!file.endsWith('.json')) continue;
  const r = JSON.parse(readFileSync(join(results, file), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  perProject.push(
    `${file.replace(/\.json$/, '').padEnd(28)} ${String(r.numPassedTests).padStart(5)} passed ${String(r.numFailedTests).padStart(4)} failed`,
  );
}
// A step that failed outside Jest (build, typecheck, lint, a suite that crashed) counts as one failure each.
const nonTestFailures = failedSteps.filter((s) => s !== 'test').length;
if (failedSteps.includes('test') && failed === 0) failed += 1;
failed += nonTestFailures;
console.log('\n' + perProject.sort().join('\n'));
if (failedSteps.length) console.log(`failed steps: ${failedSteps.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || failedSteps.length > 0 ? 1 : 0);
