#!/usr/bin/env node
// Installs Prometheus and promtool into <cache>/prometheus-<version>/bin, once; prints the path of the
// prometheus binary (promtool is beside it). Two sources, both package registries:
//  - deb (default): Debian's `prometheus` package, fetched with `apt-get download` and unpacked with
//    `dpkg-deb -x` into the cache (nothing is installed system-wide, no root needed);
//  - go: Prometheus 3 built from the Go module proxy through a small wrapper module (its go.mod has a
//    `replace` and `exclude` lines, so a plain `go install` refuses), without any cloud service
//    discovery (`remove_all_sd`). Slower (a few minutes cold) but current PromQL.
// PROMETHEUS_FROM=deb|go picks one; by default deb, and go when apt has no package.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';

/** The Prometheus release the Go route builds (module versions v0.3xx.y are tags v3.xx.y). */
export const PROMETHEUS_GO_VERSION = 'v0.314.0';
const PROMETHEUS_GO_RELEASE = '3.14.0';

/** The version apt would download, or undefined when apt knows no `prometheus` package. */
function debianCandidate() {
  try {
    const policy = execFileSync('apt-cache', ['policy', 'prometheus'], { encoding: 'utf8' });
    const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    return candidate && candidate !== '(none)' ? candidate : undefined;
  } catch {
    return undefined;
  }
}

async function fromDebian(version) {
  const root = cacheRoot();
  const dir = await ensureInstalled(
    join(root, `prometheus-deb-${version.replace(/[^\w.+-]/g, '_')}`),
    async (tmp) => {
      const started = Date.now();
      progress(
        'prometheus',
        `downloading Debian's prometheus ${version} with apt-get download… (first run only)`,
      );
      const debs = join(tmp, 'deb');
      mkdirSync(debs);
      await run('apt-get', ['download', `prometheus=${version}`], {
        cwd: debs,
        capture: true,
        hint: 'needs apt',
      });
      const deb = readdirSync(debs).find((f) => f.endsWith('.deb'));
      if (deb === undefined) throw new Error('apt-get download wrote no .deb');
      const unpacked = join(tmp, 'root');
      await run('dpkg-deb', ['-x', join(debs, deb), unpacked], { capture: true, hint: 'needs dpkg-deb' });
      mkdirSync(join(tmp, 'bin'));
      for (const name of ['prometheus', 'promtool'])
        renameSync(join(unpacked, 'usr', 'bin', name), join(tmp, 'bin', name));
      rmSync(unpacked, { recursive: true, force: true });
      rmSync(debs, { recursive: true, force: true });
      writeFileSync(join(tmp, 'VERSION'), `${version} (Debian)\n`);
      progress(
        'prometheus',
        `prometheus ${version} unpacked in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    },
  );
  return join(dir, 'bin', 'prometheus');
}

async function fromGo() {
  const root = cacheRoot();
  const dir = await ensureInstalled(join(root, `prometheus-${PROMETHEUS_GO_RELEASE}`), async (tmp) => {
    const started = Date.now();
    progress(
      'prometheus',
      `building prometheus ${PROMETHEUS_GO_RELEASE} from the Go module proxy… (first run only: minutes, up to ~25 on 2 busy cores)`,
    );
    const work = join(tmp, 'build');
    mkdirSync(work);
    const env = {
      ...process.env,
      GOPATH: join(root, 'go', 'path'),
      GOMODCACHE: join(root, 'go', 'mod'),
      GOCACHE: join(root, 'go', 'build'),
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
      GOFLAGS: '-modcacherw -mod=mod',
    };
    const go = (args) => run('go', args, { env, cwd: work, hint: 'Prometheus is built with Go 1.25+' });
    await go(['mod', 'init', 'local/prometheus-build']);
    // The same replace and excludes as Prometheus' own go.mod at this version.
    await go([
      'mod',
      'edit',
      '-replace=cloud.google.com/go=cloud.google.com/go@v0.123.0',
      '-exclude=github.com/linode/linodego@v1.0.0',
      '-exclude=github.com/grpc-ecosystem/grpc-gateway@v1.14.7',
      '-exclude=google.golang.org/api@v0.30.0',
    ]);
    const pkgs = ['cmd/prometheus', 'cmd/promtool'].map((p) => `github.com/prometheus/prometheus/${p}`);
    await go(['get', '-tags', 'remove_all_sd', ...pkgs.map((p) => `${p}@${PROMETHEUS_GO_VERSION}`)]);
    mkdirSync(join(tmp, 'bin'));
    await go([
      'build',
      '-trimpath',
      '-tags',
      'netgo,remove_all_sd',
      '-ldflags',
      `-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_GO_RELEASE}`,
      '-o',
      join(tmp, 'bin') + '/',
      ...pkgs,
    ]);
    rmSync(work, { recursive: true, force: true });
    writeFileSync(join(tmp, 'VERSION'), `${PROMETHEUS_GO_RELEASE} (Go module proxy)\n`);
    progress('prometheus', `prometheus built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  return join(dir, 'bin', 'prometheus');
}

/** Installs Prometheus if it is not installed yet; resolves with the prometheus binary's path. */
export async function ensurePrometheus() {
  const from = process.env.PROMETHEUS_FROM ?? 'auto';
  if (from === 'go') return fromGo();
  // An unpacked package is used as it is: asking apt again costs a second on every test run.
  const installed = (existsSync(cacheRoot()) ? readdirSync(cacheRoot(), { withFileTypes: true }) : [])
    .map((d) => d.name)
    .filter((name) => name.startsWith('prometheus-deb-') && existsSync(join(cacheRoot(), name, '.installed')))
    .sort();
  if (installed.length > 0) return join(cacheRoot(), installed[installed.length - 1], 'bin', 'prometheus');
  const candidate = debianCandidate();
  if (candidate !== undefined) return fromDebian(candidate);
  if (from === 'deb')
    throw new Error('apt knows no `prometheus` package (run apt-get update, or PROMETHEUS_FROM=go)');
  progress('prometheus', 'apt knows no `prometheus` package: building it from the Go module proxy instead');
  return fromGo();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main('prometheus', ensurePrometheus);
