import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Interop programs (the Go SDK's, the Java SDK's) built from tools/interop into the user cache, one
// folder per digest of their sources, so a build is reused while its sources are unchanged.

/** How to build one interop program. */
export interface CachedBuildSpec {
  /** Its name in progress lines and in its cache folder's name, e.g. `sdk-go`. */
  name: string;
  /** What the progress line says is being built, e.g. `the CloudEvents Go SDK interop program`. */
  what: string;
  /** What its first build downloads, e.g. `Go modules`. */
  downloads: string;
  sourceDir: string;
  /** The files whose content decides whether a cached build is still current. */
  sourceFiles: readonly string[];
  /** The artifact's file name in its cache folder. */
  artifact: string;
  /**
   * Builds into `dir` (the cache folder; `root` is the cache root) and resolves with the path of the
   * file to move into place. Builds of other test processes may run at the same time: use names of
   * this process's own (`process.pid`) until the rename.
   */
  build(dir: string, root: string): Promise<string>;
}

/** `$XDG_CACHE_HOME/knative-eventing-ts`, or `~/.cache/knative-eventing-ts`. */
export function testCacheRoot(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'knative-eventing-ts');
}

/**
 * A function resolving with the path of the built artifact, building it on its first call when the
 * cache has no build of the current sources (progress on stderr); a failed build is tried again by
 * the next call.
 */
export function cachedBuild(spec: CachedBuildSpec): () => Promise<string> {
  let built: Promise<string> | undefined;
  return () => {
    built ??= buildOnce(spec).catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return built;
  };
}

async function buildOnce(spec: CachedBuildSpec): Promise<string> {
  const hash = createHash('sha256');
  for (const file of spec.sourceFiles)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(spec.sourceDir, file)));
  const root = testCacheRoot();
  const dir = join(root, `${spec.name}-${hash.digest('hex').slice(0, 16)}`);
  const artifact = join(dir, spec.artifact);
  if (existsSync(artifact)) return artifact;
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  process.stderr.write(`${spec.name}: building ${spec.what} into ${dir}\n`);
  process.stderr.write(`${spec.name}: the first build downloads ${spec.downloads} and can take a minute\n`);
  // The rename is atomic: of builds running at the same time, the last one's file stays.
  renameSync(await spec.build(dir, root), artifact);
  process.stderr.write(`${spec.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return artifact;
}
