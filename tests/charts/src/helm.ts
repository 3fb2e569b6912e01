import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

// helm and kubeconform from tools/test-servers (built from the Go module proxy once, then cached).

export const ROOT = resolve(__dirname, '..', '..', '..');
export const CHART = join(ROOT, 'charts', 'eventing');
export const VALUES = {
  default: [] as string[],
  kafka: [join(CHART, 'values-kafka.yaml')],
  nats: [join(CHART, 'values-nats.yaml')],
};

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, cwd: ROOT }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(err);
      done({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const installed = new Map<string, Promise<string>>();

/** Installs (first use) and returns what tools/test-servers/<name>/install.mjs prints. */
export function install(name: 'helm' | 'helm3' | 'kubeconform'): Promise<string> {
  let p = installed.get(name);
  if (!p) {
    const script = join(ROOT, 'tools', 'test-servers', name === 'helm3' ? 'helm' : name, 'install.mjs');
    p = run(process.execPath, name === 'helm3' ? [script, '--v3'] : [script]).then((r) => {
      if (r.code !== 0) throw new Error(`${name} install failed:\n${r.stderr}`);
      return r.stdout.trim();
    });
    installed.set(name, p);
  }
  return p;
}

/** `helm <args>`; the symlink notice helm prints for eventing-crds/files is dropped from stderr. */
export async function helm(args: string[], which: 'helm' | 'helm3' = 'helm'): Promise<Run> {
  const r = await run(await install(which), args);
  return { ...r, stderr: r.stderr.replace(/^.*found symbolic link in path.*\n/gm, '') };
}

export type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `helm template` of the chart with values files and `--set` pairs; rejects with helm's error. */
export async function template(
  files: string[] = [],
  set: string[] = [],
  namespace = 'knative-eventing',
): Promise<string> {
  const args = ['template', 'eventing', CHART, '-n', namespace, '--kube-version', '1.34.0'];
  for (const f of files) args.push('-f', f);
  for (const s of set) args.push('--set', s);
  const r = await helm(args);
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return r.stdout;
}

/** The manifests of a rendered chart. */
export function docs(rendered: string): Doc[] {
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null && typeof d === 'object');
}

/** Renders and parses. */
export async function render(files: string[] = [], set: string[] = []): Promise<Doc[]> {
  return docs(await template(files, set));
}

export const find = (all: Doc[], kind: string, name: string): Doc | undefined =>
  all.find((d) => d['kind'] === kind && d['metadata']?.['name'] === name);
