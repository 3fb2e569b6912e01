import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventuallyAsync, freePorts } from '@eventing/testing';

const root = join(__dirname, '../../../..');

/** The bundled webhook running as a local process, registered at its loopback URL. */
export interface WebhookProcess {
  port: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `dist/apps/webhook/main.js` as a developer runs it outside the cluster: on a free loopback
 * port, its configurations registered at `https://127.0.0.1:<port>` with `--register-url`. Resolves
 * once it listens.
 */
export async function startWebhookProcess(
  kubeconfig: string,
  namespace: string,
  extra: string[] = [],
): Promise<WebhookProcess> {
  const [port] = (await freePorts(1)) as [number];
  const child = spawn(
    process.execPath,
    [
      'dist/apps/webhook/main.js',
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      namespace,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--register-url',
      `https://127.0.0.1:${port}`,
      ...extra,
    ],
    { cwd: root, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await eventuallyAsync(
      'the webhook to listen',
      async () => {
        if (gone) throw new Error(`exited:\n${out}`);
        return out.includes('listening on https://') ? true : undefined;
      },
      60_000,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    output: () => out,
    stop: async () => {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
  };
}
