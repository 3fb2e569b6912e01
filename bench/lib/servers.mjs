// The servers the end-to-end benchmarks start: the benchmark subscriber and the standalone broker.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir, root, startChild } from './children.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/** The bundled standalone app that `node tools/build/build.mjs` writes. */
export const standaloneMain = join(root, 'dist', 'apps', 'standalone', 'main.js');

/** Starts bench/lib/subscriber.mjs keeping up to `capacity` latencies; `url` has no trailing slash. */
export async function startSubscriber(capacity) {
  const child = await startChild(
    'subscriber',
    [join(here, 'subscriber.mjs'), '--capacity', String(capacity)],
    {
      ready: (line) => line.match(/^subscriber listening on (\d+)$/)?.[1],
    },
  );
  return { ...child, url: `http://127.0.0.1:${child.value}` };
}

/**
 * Starts `dist/apps/standalone/main.js` on port 0 with `yaml` as its only config file, and resolves
 * once it serves and has reported every resource in `ready` (e.g. "Broker default/default") Ready.
 * A `✗` line fails the start. `extraArgs` go to standalone after the defaults; `main` is another build's bundle. The result carries `port` and `configDir` (remove it with
 * removeTempDir after stopping the child).
 */
export async function startStandalone({
  yaml,
  ready,
  profileDir,
  timeoutMs = 60_000,
  name = 'standalone',
  extraArgs = [],
  main = standaloneMain,
}) {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`node tools/build/build.mjs\` first`);
  const configDir = makeTempDir('bench-standalone-');
  writeFileSync(join(configDir, 'bench.yaml'), yaml);
  const profileArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  let port;
  const waiting = new Set(ready);
  try {
    const child = await startChild(
      name,
      [
        ...profileArgs,
        main,
        '--config',
        configDir,
        '--port',
        '0',
        '--no-watch',
        '--log-format',
        'json',
        ...extraArgs,
      ],
      {
        timeoutMs,
        ready: (line) => {
          const serving = line.match(/serving on http:\/\/127\.0\.0\.1:(\d+)/);
          if (serving) port = Number(serving[1]);
          if (line.startsWith('✗')) throw new Error(`standalone rejected the benchmark config: ${line}`);
          const ok = line.match(/^✓\s+(\w+ [\w-]+\/[\w-]+) Ready/);
          if (ok) waiting.delete(ok[1]);
          return port !== undefined && waiting.size === 0 ? port : undefined;
        },
      },
    );
    return { ...child, port, configDir };
  } catch (err) {
    removeTempDir(configDir);
    throw err;
  }
}
