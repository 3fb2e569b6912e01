// The libs/testing Kafka and NATS harnesses for benchmarks: plain Node cannot load those TypeScript
// modules, so esbuild bundles them once into dist/bench (npm packages stay external and resolve from
// the repository's node_modules).
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serversDir = join(root, 'libs', 'testing', 'src', 'servers');

/** `{ startKafka, startNats }` from libs/testing/src/servers. */
export async function loadTestServers() {
  const outfile = join(root, 'dist', 'bench', 'test-servers.cjs');
  await build({
    stdin: {
      contents: "export * from './kafka'; export * from './nats';",
      resolveDir: serversDir,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    packages: 'external',
    outfile,
    // The harness finds tools/test-servers relative to its own folder.
    define: { __dirname: JSON.stringify(serversDir) },
    logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile);
}
