import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStandalone } from './main';

// Start reads the folder once: the durable stores are found in the same load that is applied first.

describe('standalone start', () => {
  let dir: string;
  let app: Awaited<ReturnType<typeof runStandalone>> | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'standalone-start-'));
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.service.close();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads each file of the folder once, and applies what it read', async () => {
    const file = join(dir, 'broker.yaml');
    writeFileSync(
      file,
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n  namespace: default\n',
    );
    const reads = jest.spyOn(fs, 'readFileSync');
    const lines: string[] = [];
    app = await runStandalone(
      {
        configDir: dir,
        port: 0,
        host: '127.0.0.1',
        services: new Map(),
        maxBodyBytes: 1 << 20,
        maxTtl: 255,
        maxInFlight: 10,
        maxInFlightTotal: 100,
        queueCapacity: 100,
        logFormat: 'json',
        watch: false,
      },
      (l) => lines.push(l),
    );
    expect(reads.mock.calls.filter(([path]) => path === file)).toHaveLength(1);
    expect(lines.some((l) => l.includes('Broker default/default') && l.includes('Ready'))).toBe(true);
  });
});
