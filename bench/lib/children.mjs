// Child processes and temp dirs of a benchmark run: every child is started with parent-guard.mjs
// preloaded (it exits by itself once the benchmark is gone), tracked, and killed on exit, on errors
// and on SIGINT/SIGTERM/SIGHUP; every temp dir is removed at the same moments.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loud } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (bench/lib/../..). */
export const root = resolve(here, '..', '..');
const guard = join(here, 'parent-guard.mjs');

const children = new Set();
const tempDirs = new Set();

/**
 * Starts `node --import parent-guard <nodeArgs>` (with `env` added to this process's environment);
 * resolves with `{ name, proc, tail, stopping, value }`
 * once `ready(line)` returns something other than undefined for a stdout line. Rejects (with the
 * child's last 40 lines) if `ready` throws, the child exits first, or `timeoutMs` passes.
 */
export function startChild(name, nodeArgs, { ready, timeoutMs = 30_000, cwd = root, env }) {
  const proc = spawn(process.execPath, ['--import', guard, ...nodeArgs], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  const child = { name, proc, tail: [], stopping: { value: false } };
  children.add(child);
  const remember = (line) => {
    child.tail.push(line);
    if (child.tail.length > 40) child.tail.shift();
  };
  const stderr = createInterface({ input: proc.stderr });
  stderr.on('line', remember);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} not ready within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      err.message += `\n--- last output of ${name} ---\n${child.tail.join('\n')}`;
      reject(err);
    }
    const stdout = createInterface({ input: proc.stdout });
    stdout.on('line', (line) => {
      remember(line);
      if (settled) return;
      let value;
      try {
        value = ready(line);
      } catch (err) {
        fail(err);
        return;
      }
      if (value !== undefined) {
        settled = true;
        clearTimeout(timer);
        resolvePromise({ ...child, value });
      }
    });
    proc.on('error', fail);
    proc.on('exit', (code, signal) => {
      children.delete(child);
      if (settled && !child.stopping.value)
        loud(`${name} exited during the run (code ${code}, signal ${signal}):\n${child.tail.join('\n')}`);
      fail(new Error(`${name} exited early (code ${code}, signal ${signal})`));
    });
  });
}

/** Stops a child with SIGTERM (so a --cpu-prof profile gets written), SIGKILL after `graceMs`. */
export async function stopChild(child, graceMs = 5_000) {
  child.stopping.value = true;
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A new temp dir, removed by removeTempDir or, at the latest, when the process exits. */
export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a dir made by makeTempDir now. */
export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** SIGKILLs every running child and removes every temp dir (synchronous: safe in 'exit'). */
export function killAllNow() {
  for (const child of children) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping children`);
    killAllNow();
    process.exit(130);
  });
}
