#!/usr/bin/env node
// Builds a Kubernetes control plane for tests from the Go module proxy into <cache>/kube-<version>/bin,
// once; prints that bin folder. It holds etcd, kube-apiserver, kube-controller-manager and kubectl.
// Needs Go 1.26+ on PATH; cold, the four builds take about 7 minutes on 2 cores (kube-apiserver alone
// ~5 min and ~1.8 GB of RAM), one after the other. Module and build caches live under <cache>/go, as for
// the other Go programs the tests build, so removing the cache removes everything.
//
// k8s.io/kubernetes is not meant to be required as a module: its go.mod points 31 k8s.io/* staging
// modules at ./staging folders that a module download does not hold. A small wrapper module requires
// it and replaces each staging module with its published v0.<minor>.<patch> release instead.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';

/** The Kubernetes release the tests run (the newest v1.34 patch the Go module proxy serves). */
export const KUBE_VERSION = '1.34.10';
/** The etcd release kube-apiserver stores in. */
export const ETCD_VERSION = '3.6.14';

const HINT = 'the Kubernetes test servers are built with Go 1.26+ (https://go.dev/doc/install)';

function goEnv(root) {
  return {
    ...process.env,
    GOPATH: join(root, 'go', 'path'),
    GOMODCACHE: join(root, 'go', 'mod'),
    GOCACHE: join(root, 'go', 'build'),
    // The installed Go builds it; no toolchain download for a module's `toolchain` line.
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
  };
}

function elapsed(started) {
  const s = Math.round((Date.now() - started) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Runs one `go` step, saying every 15 s that it is still going (a cold compile is silent for minutes). */
async function go(root, cwd, what, args) {
  const started = Date.now();
  const timer = setInterval(() => progress('kube', `still ${what} (${elapsed(started)})`), 15_000);
  try {
    await run('go', args, { env: goEnv(root), cwd, capture: true, hint: HINT });
  } finally {
    clearInterval(timer);
  }
  progress('kube', `${what}: done in ${elapsed(started)}`);
}

async function buildEtcd(root, src, bin) {
  const dir = join(src, 'etcd');
  mkdirSync(dir, { recursive: true });
  await go(root, dir, 'creating the etcd wrapper module', ['mod', 'init', 'local/etcd-build']);
  await go(root, dir, `resolving etcd ${ETCD_VERSION}`, [
    'get',
    `go.etcd.io/etcd/server/v3@v${ETCD_VERSION}`,
  ]);
  await go(root, dir, 'building etcd', [
    'build',
    '-trimpath',
    '-ldflags',
    '-s -w',
    '-o',
    join(bin, 'etcd'),
    'go.etcd.io/etcd/server/v3',
  ]);
}

async function buildKube(root, src, bin) {
  const dir = join(src, 'kube');
  mkdirSync(dir, { recursive: true });
  const minor = KUBE_VERSION.split('.')[1];
  const staging = `v0.${KUBE_VERSION.slice(KUBE_VERSION.indexOf('.') + 1)}`;
  await go(root, dir, 'creating the Kubernetes wrapper module', ['mod', 'init', 'local/kube-build']);
  await go(root, dir, `downloading k8s.io/kubernetes v${KUBE_VERSION}`, [
    'mod',
    'download',
    `k8s.io/kubernetes@v${KUBE_VERSION}`,
  ]);
  const mod = readFileSync(
    join(goEnv(root).GOMODCACHE, 'cache', 'download', 'k8s.io', 'kubernetes', '@v', `v${KUBE_VERSION}.mod`),
    'utf8',
  );
  const stagingModules = [...mod.matchAll(/^\s*(k8s\.io\/[A-Za-z0-9._-]+) => \.\/staging\//gm)].map(
    (m) => m[1],
  );
  if (stagingModules.length === 0)
    throw new Error(`no ./staging replaces in k8s.io/kubernetes v${KUBE_VERSION}`);
  await go(root, dir, `pinning ${stagingModules.length} staging modules to ${staging}`, [
    'mod',
    'edit',
    ...stagingModules.map((m) => `-replace=${m}=${m}@${staging}`),
    `-require=k8s.io/kubernetes@v${KUBE_VERSION}`,
    // As upstream's own go.mod: the runtime behaviours of Go 1.24 that the release was tested with.
    '-godebug=default=go1.24',
  ]);
  let ldflags = '-s -w';
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    ldflags += ` -X ${p}.gitVersion=v${KUBE_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${minor}`;
    ldflags += ` -X ${p}.gitTreeState=clean`;
  }
  for (const [cmd, note] of [
    ['kube-apiserver', ' (~5 min cold)'],
    ['kube-controller-manager', ' (~1 min)'],
    ['kubectl', ' (~30 s)'],
  ]) {
    const pkg = `k8s.io/kubernetes/cmd/${cmd}`;
    await go(root, dir, `resolving ${cmd} v${KUBE_VERSION}`, ['get', `${pkg}@v${KUBE_VERSION}`]);
    progress('kube', `building ${cmd} v${KUBE_VERSION}${note}…`);
    await go(root, dir, `building ${cmd}`, [
      'build',
      '-trimpath',
      '-ldflags',
      ldflags,
      '-o',
      join(bin, cmd),
      pkg,
    ]);
  }
}

/** Builds the control plane if it is not built yet; resolves with the folder holding the four binaries. */
export async function ensureKube() {
  const root = cacheRoot();
  const dir = await ensureInstalled(join(root, `kube-v${KUBE_VERSION}`), async (tmp) => {
    const started = Date.now();
    progress(
      'kube',
      `building etcd ${ETCD_VERSION} and Kubernetes v${KUBE_VERSION} (kube-apiserver, kube-controller-manager, ` +
        'kubectl) from the Go module proxy… (first run only, ~7 min on 2 cores)',
    );
    const bin = join(tmp, 'bin');
    const src = join(tmp, 'src');
    mkdirSync(bin, { recursive: true });
    await buildEtcd(root, src, bin);
    await buildKube(root, src, bin);
    rmSync(src, { recursive: true, force: true });
    progress('kube', `etcd and Kubernetes v${KUBE_VERSION} built in ${elapsed(started)}`);
  });
  return join(dir, 'bin');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main('kube', ensureKube);
