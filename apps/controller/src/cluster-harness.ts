import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTRACT_KEY, contractConfigMapName, type ContractRole } from '@eventing/contract';
import { spawnApp, writeContract, type AppProcess, type KubeAccess } from '@eventing/testing';

// What a test of the control plane needs around a real API server: CRDs applied, the data-plane
// services running as local processes on contract files, the contract ConfigMaps copied into those
// files as a kubelet would mount them, and the controller started as its built bundle.

export const SYSTEM_NAMESPACE = 'knative-eventing';
const root = join(__dirname, '../../..');

/** Polls `check` until it returns a value (not undefined/false), or throws after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await sleep(100);
  }
}

/** Applies every CRD and waits until the API server serves them. */
export async function applyCrds(kube: KubeAccess): Promise<void> {
  await kube.kubectl(['apply', '--server-side', '-f', join(root, 'charts/eventing/crds')]);
  await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await kube.kubectl(['create', 'namespace', SYSTEM_NAMESPACE], { allowFail: true });
}

/** A resource as JSON via kubectl, or undefined when it does not exist. */
export async function getJson<T = Record<string, unknown>>(
  kube: KubeAccess,
  args: string[],
): Promise<T | undefined> {
  const r = await kube.kubectl(['get', ...args, '-o', 'json'], { allowFail: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

/** The Ready condition of a resource. */
export async function readyOf(
  kube: KubeAccess,
  resource: string,
  name: string,
  namespace = 'default',
): Promise<{ status: string; reason?: string; message?: string } | undefined> {
  const obj = await getJson<{ status?: { conditions?: { type: string; status: string }[] } }>(kube, [
    resource,
    name,
    '-n',
    namespace,
  ]);
  return obj?.status?.conditions?.find((c) => c.type === 'Ready');
}

/**
 * Copies each role's contract ConfigMap into `<dir>/<role>.json` as it changes, the way a kubelet
 * updates a mounted ConfigMap (a whole new file renamed into place).
 */
export function mirrorContracts(kube: KubeAccess, dir: string, roles: readonly ContractRole[]) {
  mkdirSync(dir, { recursive: true });
  for (const role of roles) writeContract(join(dir, `${role}.json`), { generation: 0 });
  const seen = new Map<string, string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const role of roles) {
        const cm = await getJson<{ data?: Record<string, string> }>(kube, [
          'configmap',
          contractConfigMapName(role),
          '-n',
          SYSTEM_NAMESPACE,
        ]).catch(() => undefined);
        const text = cm?.data?.[CONTRACT_KEY];
        if (text !== undefined && seen.get(role) !== text) {
          seen.set(role, text);
          writeContract(join(dir, `${role}.json`), JSON.parse(text) as object);
        }
      }
      await sleep(200);
    }
  })();
  return {
    path: (role: ContractRole) => join(dir, `${role}.json`),
    current: (role: ContractRole) => JSON.parse(readFileSync(join(dir, `${role}.json`), 'utf8')) as object,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The three data-plane services of a channel-based broker, on their contract files. */
export async function startDataPlane(contracts: { path(role: ContractRole): string }): Promise<{
  ingress: AppProcess;
  imc: AppProcess;
  filter: AppProcess;
  stop(): void;
}> {
  const [ingress, imc, filter] = await Promise.all([
    spawnApp('broker-ingress', { CONTRACT_PATH: contracts.path('broker-ingress'), LOG_LEVEL: 'warn' }),
    spawnApp('imc-dispatcher', {
      CONTRACT_PATH: contracts.path('imc-dispatcher'),
      LOG_LEVEL: 'warn',
      REDELIVERY_DELAY_MS: '100',
    }),
    spawnApp('broker-filter', { CONTRACT_PATH: contracts.path('broker-filter'), LOG_LEVEL: 'warn' }),
  ]);
  return { ingress, imc, filter, stop: () => [ingress, imc, filter].forEach((p) => p.kill()) };
}

/** Starts the built controller against `kube`, addressing the given data-plane services. */
export function startController(
  kube: KubeAccess,
  dataPlane: { ingress: { url: string }; imc: { url: string }; filter: { url: string } },
  extra: Record<string, string> = {},
): Promise<AppProcess> {
  return spawnApp('controller', {
    KUBECONFIG: kube.kubeconfig,
    SYSTEM_NAMESPACE,
    BROKER_INGRESS_URL: dataPlane.ingress.url,
    BROKER_FILTER_URL: dataPlane.filter.url,
    IMC_URL: dataPlane.imc.url,
    // Short enough for a quick failover, long enough to ride out an API server restart (~3 s).
    LEASE_DURATION_MS: '10000',
    RENEW_DEADLINE_MS: '8000',
    RETRY_PERIOD_MS: '1000',
    LOG_LEVEL: 'info',
    ...extra,
  });
}

/** A metric's value from a service's /metrics (the sum over its series). */
export async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const line of text.split('\n'))
    if (
      line.startsWith(name) &&
      (line[name.length] === ' ' || line[name.length] === '{') &&
      line.includes(labels)
    )
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/**
 * The durable channel services as local processes on their contract files: kafka-channel-dispatcher
 * on `kafkaBootstrap` and nats-channel-dispatcher on `natsUrl`. The controller creates and deletes
 * topics and streams in a cluster, so the services do not (CREATE_STORES=false, as the chart sets it).
 */
export async function startChannelDispatchers(
  contracts: { path(role: ContractRole): string },
  stores: { kafkaBootstrap: string; natsUrl: string },
): Promise<{ kafka: AppProcess; nats: AppProcess; stop(): void }> {
  const common = { LOG_LEVEL: 'warn', CREATE_STORES: 'false', REDELIVERY_DELAY_MS: '100' };
  const [kafka, nats] = await Promise.all([
    spawnApp('kafka-channel-dispatcher', {
      ...common,
      CONTRACT_PATH: contracts.path('kafka-channel-dispatcher'),
      KAFKA_BOOTSTRAP_SERVERS: stores.kafkaBootstrap,
    }),
    spawnApp('nats-channel-dispatcher', {
      ...common,
      CONTRACT_PATH: contracts.path('nats-channel-dispatcher'),
      NATS_URL: stores.natsUrl,
    }),
  ]);
  return { kafka, nats, stop: () => [kafka, nats].forEach((p) => p.kill()) };
}
