import { SHARED_KAFKA_ENV, startKafka } from './kafka';
import { SHARED_KUBE_ENV, startKube } from './kube';
import { SHARED_NATS_ENV, startNats } from './nats';

// A Jest globalSetup that starts one Kafka, one NATS and/or one Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager) for a project's whole test run; withKafka(), withNats() and
// withKube() in its test files then use them instead of starting their own. In the project's
// jest.config.js:
//
//   projectConfig(__dirname, {
//     globalSetup: '<rootDir>/../../libs/testing/src/servers/jest-global-setup.ts',
//     globalTeardown: '<rootDir>/../../libs/testing/src/servers/jest-global-teardown.ts',
//     globals: { testServers: ['kafka'] }, // default: ['kafka', 'nats']; 'kube' only when asked
//   })
//
// A first build of the Kubernetes binaries takes ~7 minutes; Jest waits for a globalSetup as long as it
// takes.

/** Where the servers wait for jest-global-teardown.ts (both run in Jest's main process). */
export const SHARED_SERVERS = Symbol.for('knative-eventing-ts.testing.shared-servers');

type Stoppable = { stop(): Promise<void> };

export default async function setup(
  _globalConfig: unknown,
  projectConfig: { globals?: Record<string, unknown> },
): Promise<void> {
  const wanted = (projectConfig.globals?.['testServers'] as string[] | undefined) ?? ['kafka', 'nats'];
  const servers: Stoppable[] = [];
  (globalThis as Record<symbol, unknown>)[SHARED_SERVERS] = servers;
  await Promise.all([
    wanted.includes('kafka') &&
      startKafka().then((kafka) => {
        servers.push(kafka);
        process.env[SHARED_KAFKA_ENV] = kafka.bootstrap;
      }),
    wanted.includes('nats') &&
      startNats().then((nats) => {
        servers.push(nats);
        process.env[SHARED_NATS_ENV] = nats.url;
      }),
    wanted.includes('kube') &&
      startKube({ controllerManager: true }).then((kube) => {
        servers.push(kube);
        process.env[SHARED_KUBE_ENV] = kube.kubeconfig;
      }),
  ]);
}
