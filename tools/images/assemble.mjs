#!/usr/bin/env node
// Assembles each service's image root: <out>/<app>/{main.js, main.js.map, package.json, node_modules/, node}.
// The Dockerfile runs exactly this and copies the folder into a distroless base, so what an image
// holds is what `--check` (and tests/charts) started and probed here, without a container daemon.
//
//   node tools/images/assemble.mjs [--out dist/images] [--check [--env NAME=VALUE…]] [app…]
//
// node_modules holds only what the bundle requires (tools/build/build.mjs keeps npm packages
// external) and their production dependencies, at the same relative paths as in the repository's
// node_modules, so Node resolves them the same way. `node` is the Node.js binary the repository
// runs on (the `node` npm package). With --check each assembled service is started from its root,
// with an empty contract where it reads one, and must answer /readyz (or /healthz where readiness
// needs a system the check does not have: see CHECKS).
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The services that get an image (every app but the CLI and the standalone all-in-one). */
export const SERVICES = [
  'controller',
  'webhook',
  'broker-ingress',
  'broker-filter',
  'imc-dispatcher',
  'kafka-channel-dispatcher',
  'nats-channel-dispatcher',
  'kafka-broker-receiver',
  'kafka-broker-dispatcher',
  'ping-source',
];

const EMPTY_CONTRACT = JSON.stringify({ version: 1, generation: 0, brokers: [], triggers: [] });

/**
 * How --check starts each service: its environment (given a scratch folder and a port) and the
 * probe that must answer 200. Services whose readiness needs Kafka, NATS or an API server are
 * probed on /healthz unless the caller passes that system's address in `env`.
 */
export const CHECKS = {
  controller: { env: () => ({ KUBECONFIG: '/nonexistent' }), probe: '/healthz', needs: 'KUBECONFIG' },
  webhook: { env: () => ({}), probe: null, needs: 'KUBECONFIG', https: true },
  'broker-ingress': { env: (d) => ({ CONTRACT_PATH: contract(d) }), probe: '/readyz' },
  'broker-filter': { env: (d) => ({ CONTRACT_PATH: contract(d) }), probe: '/readyz' },
  'imc-dispatcher': { env: (d) => ({ CONTRACT_PATH: contract(d) }), probe: '/readyz' },
  'kafka-channel-dispatcher': {
    env: (d) => ({ CONTRACT_PATH: contract(d), KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' }),
    probe: '/healthz',
    needs: 'KAFKA_BOOTSTRAP_SERVERS',
  },
  'nats-channel-dispatcher': {
    env: (d) => ({ CONTRACT_PATH: contract(d), NATS_URL: 'nats://127.0.0.1:1' }),
    probe: '/healthz',
    needs: 'NATS_URL',
  },
  'kafka-broker-receiver': {
    env: (d) => ({ CONTRACT_PATH: contract(d), KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' }),
    probe: '/healthz',
    needs: 'KAFKA_BOOTSTRAP_SERVERS',
  },
  'kafka-broker-dispatcher': {
    env: (d) => ({ CONTRACT_PATH: contract(d), KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' }),
    probe: '/healthz',
    needs: 'KAFKA_BOOTSTRAP_SERVERS',
  },
  'ping-source': {
    env: (d) => ({ COORDINATION: 'none', SCHEDULES_PATH: schedules(d) }),
    probe: '/readyz',
  },
};

function contract(dir) {
  const path = join(dir, 'contract.json');
  writeFileSync(path, EMPTY_CONTRACT);
  return path;
}

function schedules(dir) {
  const path = join(dir, 'schedules.json');
  writeFileSync(path, JSON.stringify({ version: 1, generation: 0, schedules: [] }));
  return path;
}

/** The npm packages a bundle requires (bare specifiers, builtins left out), by package name. */
export function bundleRequires(bundle) {
  const names = new Set();
  for (const m of bundle.matchAll(/require\("([^"./][^"]*)"\)/g)) {
    const spec = m[1];
    if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return [...names].sort();
}

/** Finds package `name` as Node would from `fromDir`: the nearest node_modules/<name> upward. */
function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return null;
  }
}

/**
 * The package folders (relative to the repository root) a set of packages needs at run time:
 * each package and, transitively, its dependencies, optionalDependencies and installed
 * peerDependencies. A missing optional or peer package is skipped; a missing dependency throws.
 */
export function productionPackages(names) {
  const seen = new Map();
  const visit = (name, fromDir, required) => {
    const dir = locate(name, fromDir);
    if (dir === null) {
      if (required)
        throw new Error(
          `${name} (needed from ${relative(root, fromDir) || '.'}) is not installed: run npm ci`,
        );
      return;
    }
    const rel = relative(root, dir);
    if (seen.has(rel)) return;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    seen.set(rel, pkg.version);
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, true);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) visit(dep, dir, false);
  };
  for (const name of names) visit(name, root, true);
  return seen;
}

/** Assembles one service's image root into `<out>/<app>`; returns what it holds. */
export function assemble(app, out) {
  const bundlePath = join(root, 'dist', 'apps', app, 'main.js');
  if (!existsSync(bundlePath))
    throw new Error(`${bundlePath} is missing: run node tools/build/build.mjs first`);
  const dest = join(out, app);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const bundle = readFileSync(bundlePath, 'utf8');
  copyFileSync(bundlePath, join(dest, 'main.js'));
  if (existsSync(bundlePath + '.map')) copyFileSync(bundlePath + '.map', join(dest, 'main.js.map'));
  const requires = bundleRequires(bundle);
  const packages = productionPackages(requires);
  for (const rel of packages.keys()) {
    cpSync(join(root, rel), join(dest, rel), {
      recursive: true,
      dereference: true,
      // Nested node_modules are copied as packages of their own, only when needed.
      filter: (src) => !relative(join(root, rel), src).split(sep).includes('node_modules'),
    });
  }
  const repo = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  writeFileSync(
    join(dest, 'package.json'),
    JSON.stringify(
      {
        name: `@eventing/${app}`,
        version: repo.version,
        private: true,
        main: 'main.js',
        dependencies: Object.fromEntries(requires.map((n) => [n, packages.get(join('node_modules', n))])),
      },
      null,
      2,
    ) + '\n',
  );
  copyFileSync(realpathSync(join(root, 'node_modules', '.bin', 'node')), join(dest, 'node'));
  return { app, dir: dest, requires, packages: packages.size };
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** The status of GET <probe> on 127.0.0.1 (the webhook's certificate is its own: not verified); 0 when unreachable. */
function status(port, path, https) {
  return new Promise((done) => {
    const req = (https ? httpsGet : httpGet)(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', () => done(0));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Starts an assembled service from its own folder with its own `node` (nothing of the repository
 * on its module path) and waits for `probe` to answer 200. Resolves with the probe used and the
 * time it took; rejects with the service's output otherwise.
 */
export async function check(app, dir, { env = {}, timeoutMs = 30_000 } = {}) {
  const spec = CHECKS[app];
  const scratch = mkdtempSync(join(tmpdir(), `image-check-${app}-`));
  const port = await freePort();
  const given = spec.needs !== undefined && env[spec.needs] !== undefined;
  const probe = given ? '/readyz' : spec.probe;
  if (probe === null) return { app, probe: null, skipped: `needs ${spec.needs}` };
  const child = spawn(join(dir, 'node'), [join(dir, 'main.js')], {
    cwd: dir,
    env: {
      PATH: '/usr/bin:/bin',
      HOME: scratch,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...spec.env(scratch),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b) => (output = (output + b).slice(-8000)));
  child.stderr.on('data', (b) => (output = (output + b).slice(-8000)));
  let exited = null;
  child.on('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  const started = Date.now();
  try {
    for (;;) {
      if (exited !== null) throw new Error(`${app} stopped (${exited}) before ${probe} answered:\n${output}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`${app}: ${probe} did not answer 200 within ${timeoutMs} ms:\n${output}`);
      if ((await status(port, probe, spec.https === true)) === 200)
        return { app, probe, ms: Date.now() - started };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    if (exited === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function cli() {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = resolve(outAt >= 0 ? args[outAt + 1] : join(root, 'dist', 'images'));
  // --env NAME=VALUE (repeatable): passed to the services --check starts, e.g. KUBECONFIG for the
  // controller and webhook, KAFKA_BOOTSTRAP_SERVERS or NATS_URL; with it their /readyz is probed.
  const env = {};
  const taken = new Set(outAt >= 0 ? [outAt + 1] : []);
  args.forEach((a, i) => {
    if (a !== '--env') return;
    const [name, ...value] = (args[i + 1] ?? '').split('=');
    if (!name || value.length === 0) throw new Error('--env needs NAME=VALUE');
    env[name] = value.join('=');
    taken.add(i + 1);
  });
  const apps = args.filter((a, i) => !a.startsWith('--') && !taken.has(i));
  const unknown = apps.filter((a) => !SERVICES.includes(a));
  if (unknown.length > 0)
    throw new Error(`unknown service ${unknown.join(', ')}: one of ${SERVICES.join(', ')}`);
  for (const app of apps.length > 0 ? apps : SERVICES) {
    const r = assemble(app, out);
    let line = `${app}: ${r.packages} packages (${r.requires.join(', ')}) in ${relative(process.cwd(), r.dir) || r.dir}`;
    if (args.includes('--check')) {
      const c = await check(app, r.dir, { env });
      line += c.probe === null ? `; not started (${c.skipped})` : `; ${c.probe} 200 after ${c.ms} ms`;
    }
    console.log(line);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  cli().catch((err) => {
    console.error(`images: ${err.message}`);
    process.exit(1);
  });
