import { withKube } from '@eventing/testing';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, docs, run, template } from './helm';

// The image roots tools/images/assemble.mjs builds (what the Dockerfile copies into the image), each
// started from its own folder, with its own node and nothing of the repository on its module path,
// and probed: /readyz for every service that needs nothing else; the controller and the webhook
// against a real kube-apiserver; the Kafka and NATS services on /healthz (their /readyz needs the
// broker: the channel and broker suites cover that).

const ASSEMBLE = join(ROOT, 'tools', 'images', 'assemble.mjs');
const NS = `images-${randomBytes(3).toString('hex')}`;
const out = mkdtempSync(join(tmpdir(), 'images-'));
const kube = withKube();

afterAll(() => rmSync(out, { recursive: true, force: true }));

async function assembleAndCheck(app: string, env: Record<string, string> = {}) {
  const args = [ASSEMBLE, '--out', out, '--check', app];
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  const r = await run(process.execPath, args);
  const dir = join(out, app);
  try {
    if (r.code !== 0) throw new Error(r.stderr);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const bundle = readFileSync(join(dir, 'main.js'), 'utf8');
    return {
      line: r.stdout.trim(),
      pkg,
      bundle,
      files: readdirSync(dir).sort(),
      hasNode: existsSync(join(dir, 'node')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('service images (tools/images/assemble.mjs)', () => {
  it.each(['broker-ingress', 'broker-filter', 'imc-dispatcher', 'ping-source'])(
    '%s: its image root answers /readyz',
    async (app) => {
      const r = await assembleAndCheck(app);
      expect(r.line).toMatch(new RegExp(`^${app}: \\d+ packages .*; /readyz 200 after \\d+ ms$`));
      expect(r.files).toEqual(['main.js', 'main.js.map', 'node', 'node_modules', 'package.json']);
      // Every package the bundle requires is declared (and so copied), and nothing of the build is.
      for (const m of r.bundle.matchAll(/require\("(@[^"/]+\/[^"/]+|[^"@./][^"/]*)[^"]*"\)/g))
        if (!m[1]!.startsWith('node:') && !builtinModules.includes(m[1]!))
          expect(Object.keys(r.pkg.dependencies)).toContain(m[1]);
      expect(Object.keys(r.pkg.dependencies)).not.toContain('typescript');
      expect(r.hasNode).toBe(true);
    },
  );

  it.each([
    'kafka-channel-dispatcher',
    'kafka-broker-receiver',
    'kafka-broker-dispatcher',
    'nats-channel-dispatcher',
  ])('%s: its image root starts and answers /healthz', async (app) => {
    const r = await assembleAndCheck(app);
    expect(r.line).toMatch(/; \/healthz 200 after \d+ ms$/);
  });

  describe('against a real kube-apiserver', () => {
    beforeAll(async () => {
      const all = docs(await template([], [], NS));
      const crds = all.filter((d) => d['kind'] === 'CustomResourceDefinition').map((d) => JSON.stringify(d));
      await kube.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
        input: crds.join('\n---\n'),
      });
      await kube.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd',
        '-l',
        'knative.dev/crd-install=true',
      ]);
      await kube.kubectl(['create', 'namespace', NS]);
    });

    it.each(['controller', 'webhook'])('%s: its image root answers /readyz', async (app) => {
      const r = await assembleAndCheck(app, { KUBECONFIG: kube.kubeconfig, SYSTEM_NAMESPACE: NS });
      expect(r.line).toMatch(/; \/readyz 200 after \d+ ms$/);
    });
  });
});
