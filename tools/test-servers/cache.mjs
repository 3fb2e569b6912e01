// The cache the test-server installers fill, outside the repository and shared by every checkout:
// ${XDG_CACHE_HOME:-$HOME/.cache}/knative-eventing-ts. An install writes into a fresh temp folder and
// renames it into place, under a lock folder, so concurrent test workers install once and never see a
// half-written server.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The cache root for everything the project installs outside node_modules. */
export function cacheRoot() {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? xdg : join(homedir(), '.cache'), 'knative-eventing-ts');
}

/** Writes one progress line to stderr (stdout carries the installed path only). */
export function progress(name, message) {
  process.stderr.write(`${name}: ${message}\n`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Runs `fn` holding the lock folder `<path>.lock`; a lock whose owner process is gone is taken over. */
async function withLock(path, fn) {
  const lock = `${path}.lock`;
  const owner = join(lock, 'pid');
  mkdirSync(join(lock, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let pid = NaN;
      try {
        pid = Number(readFileSync(owner, 'utf8'));
      } catch {
        // The owner has made the folder but not yet written its pid.
      }
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(lock, { recursive: true, force: true });
      else await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Makes sure `dir` holds a finished install and returns it. When it does not, takes the lock, calls
 * `install(tmp)` to fill a fresh temp folder next to `dir`, writes the `.installed` marker and renames
 * the folder into place. Another process that installed meanwhile wins, and its install is used.
 */
export async function ensureInstalled(dir, install) {
  const marker = join(dir, '.installed');
  if (existsSync(marker)) return dir;
  await withLock(dir, async () => {
    if (existsSync(marker)) return;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await install(tmp);
      writeFileSync(join(tmp, '.installed'), new Date().toISOString() + '\n');
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  return dir;
}

/**
 * Runs a command, its output passed to our stderr (or, with `capture`, kept and shown only if it
 * fails); rejects with `hint` when the program is not installed, and with the exit code otherwise.
 */
export function run(cmd, args, { env = process.env, cwd, hint, capture = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env,
      cwd,
      stdio: ['ignore', capture ? 'pipe' : 2, capture ? 'pipe' : 2],
    });
    let output = '';
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on('data', (b) => (output += b));
    child.on('error', (err) =>
      reject(err.code === 'ENOENT' ? new Error(`\`${cmd}\` is not on PATH${hint ? `: ${hint}` : ''}`) : err),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      if (output) process.stderr.write(output);
      reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** Runs an installer's main: prints the installed path on stdout, or the error on stderr and exits 1. */
export function main(name, ensure) {
  ensure().then(
    (path) => process.stdout.write(path + '\n'),
    (err) => {
      progress(name, `install failed: ${err.message}`);
      process.exit(1);
    },
  );
}
