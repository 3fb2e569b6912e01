#!/usr/bin/env node
// Builds helm (v4; with --v3, Helm 3) from the Go module proxy into <cache>/helm-<version>/bin, once;
// prints the binary's path. Needs Go on PATH. The version string is set by ldflags (a `go install` build otherwise reports
// an empty one); Helm 4 takes its default Kubernetes version from client-go's build info.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';

/** The helm release the chart tests run. */
export const HELM_VERSION = 'v4.2.4';

/** Go environment shared by the Go tools the tests build (one module and build cache). */
export function goEnv(root, bin) {
  return {
    ...process.env,
    GOBIN: bin,
    GOPATH: join(root, 'go', 'path'),
    GOMODCACHE: join(root, 'go', 'mod'),
    GOCACHE: join(root, 'go', 'build'),
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-modcacherw',
  };
}

/** Builds helm if it is not built yet; resolves with the binary's path. */
export async function ensureHelm() {
  const root = cacheRoot();
  const dir = await ensureInstalled(join(root, `helm-${HELM_VERSION}`), async (tmp) => {
    const started = Date.now();
    progress('helm', `building helm ${HELM_VERSION} from the Go module proxy… (first run only, ~2 min)`);
    await run(
      'go',
      [
        'install',
        '-trimpath',
        '-ldflags',
        `-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}`,
        `helm.sh/helm/v4/cmd/helm@${HELM_VERSION}`,
      ],
      {
        env: goEnv(root, join(tmp, 'bin')),
        hint: 'helm is built with Go 1.25+ (https://go.dev/doc/install)',
      },
    );
    progress('helm', `helm ${HELM_VERSION} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  return join(dir, 'bin', 'helm');
}

/** The Helm 3 release the chart is also linted and rendered with (users still on Helm 3 install it). */
export const HELM3_VERSION = 'v3.21.4';

/**
 * Builds helm 3 if it is not built yet; resolves with the binary's path. Helm 3 takes its default
 * Kubernetes version from ldflags (otherwise v1.20, and `kubeVersion: >=1.29` fails).
 */
export async function ensureHelm3() {
  const root = cacheRoot();
  const dir = await ensureInstalled(join(root, `helm-${HELM3_VERSION}`), async (tmp) => {
    const started = Date.now();
    progress('helm', `building helm ${HELM3_VERSION} from the Go module proxy… (first run only, ~2 min)`);
    const ld = [
      '-s -w',
      `-X helm.sh/helm/v3/internal/version.version=${HELM3_VERSION}`,
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34',
    ].join(' ');
    await run('go', ['install', '-trimpath', '-ldflags', ld, `helm.sh/helm/v3/cmd/helm@${HELM3_VERSION}`], {
      env: goEnv(root, join(tmp, 'bin')),
      hint: 'helm is built with Go 1.24+ (https://go.dev/doc/install)',
    });
    progress('helm', `helm ${HELM3_VERSION} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  return join(dir, 'bin', 'helm');
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main('helm', process.argv.includes('--v3') ? ensureHelm3 : ensureHelm);
