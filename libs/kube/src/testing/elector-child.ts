import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../client/kube-client';
import { LeaderElector } from '../leader/leader-elector';

// A leader-election candidate in a process of its own, for tests that kill it: it campaigns on the
// Lease named by the environment and prints `leading` / `stopped` as that happens. SIGTERM stops it
// cleanly (releasing the Lease); SIGKILL does not.

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const config = new KubeConfig();
config.loadFromFile(env('KUBECONFIG'));
const client = new KubeClient(config);
const elector = new LeaderElector(client, {
  namespace: env('LEASE_NAMESPACE'),
  name: env('LEASE_NAME'),
  identity: env('IDENTITY'),
  leaseDurationMs: Number(env('LEASE_DURATION_MS')),
  renewDeadlineMs: Number(env('RENEW_DEADLINE_MS')),
  retryPeriodMs: Number(env('RETRY_PERIOD_MS')),
  onStartedLeading: () => process.stdout.write('leading\n'),
  onStoppedLeading: () => process.stdout.write('stopped\n'),
}).start();
process.stdout.write('started\n');
process.once('SIGTERM', () => {
  void elector
    .stop()
    .then(() => client.close())
    .then(() => process.exit(0));
});
