// Test support: builds the CLI bundle and runs it as a child process, as a user's shell would.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export const repoRoot = join(__dirname, '../../..');

/** What one CLI run printed and how it exited. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Bundles apps/cli into dist/apps/cli/main.js. */
export function buildCli(): void {
  execFileSync(process.execPath, [join(repoRoot, 'tools/build/build.mjs'), '--quiet', 'cli'], {
    cwd: repoRoot,
  });
}

/** Runs `node dist/apps/cli/main.js ...args` from the repo root, with `input` on stdin. */
export function runBuiltCli(args: string[], input?: string): CliRun {
  const run = spawnSync(process.execPath, ['dist/apps/cli/main.js', ...args], {
    cwd: repoRoot,
    input,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs `node_modules/.bin/eventing ...args` (what `npx eventing` runs), this Node first on PATH. */
export function runNpmBin(args: string[], input?: string): CliRun {
  const env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
  };
  const run = spawnSync(join(repoRoot, 'node_modules/.bin/eventing'), args, {
    cwd: repoRoot,
    input,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A temporary folder for fixture files; `write` returns the absolute path of the file written. */
export function fixtureDir(): { write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventing-cli-'));
  return {
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
