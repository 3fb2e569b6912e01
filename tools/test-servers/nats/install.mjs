#!/usr/bin/env node
// Builds nats-server (with JetStream) from the Go module proxy into <cache>/nats-server-<version>/bin,
// once; prints the binary's path. Needs Go on PATH. Module and build caches live under <cache>/go, as
// for the other Go programs the tests build, so removing the cache removes everything.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';

/** The nats-server release the tests run (go.mod asks for go 1.26.0). */
export const NATS_SERVER_VERSION = 'v2.15.2';

/** Builds nats-server if it is not built yet; resolves with the binary's path. */
export async function ensureNatsServer() {
  const root = cacheRoot();
  const dir = await ensureInstalled(join(root, `nats-server-${NATS_SERVER_VERSION}`), async (tmp) => {
    const started = Date.now();
    progress(
      'nats',
      `building nats-server ${NATS_SERVER_VERSION} from the Go module proxy… (first run only, ~1 min)`,
    );
    await run('go', ['install', `github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}`], {
      env: {
        ...process.env,
        GOBIN: join(tmp, 'bin'),
        GOPATH: join(root, 'go', 'path'),
        GOMODCACHE: join(root, 'go', 'mod'),
        GOCACHE: join(root, 'go', 'build'),
        // The installed Go builds it; no toolchain download for the module's `toolchain` line.
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
        GOFLAGS: '-modcacherw',
      },
      hint: 'nats-server is built with Go 1.26+ (https://go.dev/doc/install)',
    });
    progress(
      'nats',
      `nats-server ${NATS_SERVER_VERSION} built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
  return join(dir, 'bin', 'nats-server');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main('nats', ensureNatsServer);
