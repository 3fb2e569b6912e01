#!/usr/bin/env node
// Builds kubeconform from the Go module proxy and unpacks the Kubernetes JSON schemas of one
// Kubernetes version from the PyPI package kubernetes-validate (which ships them), into
// <cache>/kubeconform-<version>/{bin,schemas}, once; prints the binary's path. Needs Go, pip and
// python3 on PATH. Validation then runs offline:
//   kubeconform -strict -schema-location '<schemas>/{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json'
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';
import { goEnv } from '../helm/install.mjs';

/** The kubeconform release the chart tests run. */
export const KUBECONFORM_VERSION = 'v0.7.0';
/** The PyPI release of kubernetes-validate whose schemas are used. */
export const SCHEMAS_PACKAGE_VERSION = '1.37.0';
/** The Kubernetes version validated against (the kube-apiserver the tests run is 1.34). */
export const SCHEMA_KUBERNETES_VERSION = 'v1.34.0';

function installDir() {
  return join(cacheRoot(), `kubeconform-${KUBECONFORM_VERSION}-schemas-${SCHEMAS_PACKAGE_VERSION}-r4`);
}

/** Builds kubeconform and unpacks the schemas if not done yet; resolves with paths to both. */
export async function ensureKubeconform() {
  const root = cacheRoot();
  const dir = await ensureInstalled(installDir(), async (tmp) => {
    const started = Date.now();
    progress(
      'kubeconform',
      `building kubeconform ${KUBECONFORM_VERSION} from the Go module proxy… (first run only)`,
    );
    await run(
      'go',
      [
        'install',
        '-trimpath',
        '-ldflags',
        '-s -w',
        `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`,
      ],
      {
        env: goEnv(root, join(tmp, 'bin')),
        hint: 'kubeconform is built with Go (https://go.dev/doc/install)',
      },
    );
    progress(
      'kubeconform',
      `fetching kubernetes-validate ${SCHEMAS_PACKAGE_VERSION} from PyPI for its schemas…`,
    );
    const wheels = join(tmp, 'wheel');
    await run(
      'pip3',
      [
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '-d',
        wheels,
        `kubernetes-validate==${SCHEMAS_PACKAGE_VERSION}`,
      ],
      {
        hint: 'the Kubernetes schemas come from PyPI through pip',
        capture: true,
      },
    );
    const prefix = `kubernetes_validate/kubernetes-json-schema/${SCHEMA_KUBERNETES_VERSION}-local-strict/`;
    // Each schema is made self-contained: the definitions it reaches through references to
    // `/api/_definitions.json` (a URL path of the site they were made for) are copied into its `$defs`.
    const unpack = [
      'import json, glob, os, sys, zipfile',
      'wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]',
      'prefix = sys.argv[3]',
      'out = os.path.join(sys.argv[2], os.path.basename(prefix.rstrip("/")))',
      'os.makedirs(out, exist_ok=True)',
      'z = zipfile.ZipFile(wheel)',
      'defs = json.loads(z.read(prefix + "_definitions.json"))["$defs"]',
      'REF = "/api/_definitions.json#/$defs/"',
      'def walk(o, found):',
      '    if isinstance(o, dict):',
      '        for k, v in o.items():',
      '            if k == "$ref" and isinstance(v, str) and (v.startswith(REF) or v.startswith("#/$defs/")):',
      '                name = v.rsplit("/", 1)[1]',
      '                o[k] = "#/$defs/" + name',
      '                if name not in found:',
      '                    found[name] = json.loads(json.dumps(defs[name]))',
      '                    walk(found[name], found)',
      '            else:',
      '                walk(v, found)',
      '    elif isinstance(o, list):',
      '        for x in o:',
      '            walk(x, found)',
      'for n in z.namelist():',
      '    if not n.startswith(prefix) or not n.endswith(".json") or n.endswith("_definitions.json"):',
      '        continue',
      '    schema = json.loads(z.read(n))',
      '    found = {}',
      '    walk(schema, found)',
      '    if found:',
      '        schema.setdefault("$defs", {}).update(found)',
      '    with open(os.path.join(out, n[len(prefix):]), "w") as f:',
      '        json.dump(schema, f)',
    ].join('\n');
    await run('python3', ['-c', unpack, wheels, join(tmp, 'schemas'), prefix], {
      hint: 'python3 unpacks the wheel',
    });
    await run('rm', ['-rf', wheels]);
    progress('kubeconform', `ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  return { bin: join(dir, 'bin', 'kubeconform'), schemas: join(dir, 'schemas') };
}

/** The -schema-location template for the unpacked schemas. */
export function schemaLocation(schemas) {
  return join(
    schemas,
    '{{ .NormalizedKubernetesVersion }}-local-strict',
    '{{ .ResourceKind }}{{ .KindSuffix }}.json',
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main('kubeconform', async () => (await ensureKubeconform()).bin);
