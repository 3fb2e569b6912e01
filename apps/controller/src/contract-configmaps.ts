import { createHash } from 'node:crypto';
import type { ApplyReport, PingSchedule } from '@eventing/contract';
import {
  CONTRACT_KEY,
  CONTRACT_ROLES,
  contractConfigMapName,
  contractForRole,
  type ContractRole,
} from '@eventing/contract';
import { ConfigMapKind, objectPath, type ConfigMapWriter, type KubeClient } from '@eventing/kube';
import type { ContractBody, ContractSink, ScheduleSink } from '@eventing/reconciler';

/** Annotations on every contract ConfigMap: the digest of its content, and its generation. */
export const DIGEST_ANNOTATION = 'eventing.knative.dev/contract-digest';
export const GENERATION_ANNOTATION = 'eventing.knative.dev/contract-generation';
export const ROLE_LABEL = 'eventing.knative.dev/contract-role';

/** The ConfigMap of the PingSource adapter's schedules (key `schedules.json`). */
export const SCHEDULES_CONFIGMAP = 'eventing-contract-ping-source';
export const SCHEDULES_KEY = 'schedules.json';

/** A ConfigMap's object limit is 1 MiB; leave room for metadata. */
const MAX_DOCUMENT_BYTES = 1024 * 1024 - 16 * 1024;

interface Document {
  name: string;
  role: string;
  key: string;
  /** The content without its generation: what the digest covers. */
  content: object;
}

/**
 * Publishes documents into ConfigMaps of the system namespace, each with a digest of its content and
 * a generation. A document whose digest is unchanged is not written; a change takes a generation
 * above every one ever written there (read back at start), so a restarted controller never reuses a
 * number and never rewrites what is already current.
 */
class DigestedConfigMaps {
  private generation: number | undefined;
  private readonly digests = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly writer: ConfigMapWriter,
    private readonly namespace: string,
    private readonly names: readonly string[],
  ) {}

  /** The generation last written (or found at start). */
  get current(): number {
    return this.generation ?? 0;
  }

  async publish(documents: readonly Document[]): Promise<number> {
    if (this.generation === undefined) await this.readBack();
    const changed = documents
      .map((doc) => ({ doc, digest: digestOf(doc.content) }))
      .filter(({ doc, digest }) => this.digests.get(doc.name) !== digest);
    if (changed.length === 0) return this.current;
    const generation = this.current + 1;
    const specs = changed.map(({ doc, digest }) => {
      const text = JSON.stringify({ ...doc.content, generation });
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_DOCUMENT_BYTES)
        throw new Error(
          `the ${doc.role} contract is ${bytes} bytes, over what one ConfigMap holds (${MAX_DOCUMENT_BYTES}): split the resources across more installs or namespaces`,
        );
      return {
        name: doc.name,
        data: { [doc.key]: text },
        labels: { [ROLE_LABEL]: doc.role },
        annotations: { [DIGEST_ANNOTATION]: digest, [GENERATION_ANNOTATION]: String(generation) },
      };
    });
    await this.writer.write(specs);
    this.generation = generation;
    for (const { doc, digest } of changed) this.digests.set(doc.name, digest);
    return generation;
  }

  /** Reads the digests and generations already written (by an earlier run of the controller). */
  private async readBack(): Promise<void> {
    let highest = 0;
    for (const name of this.names) {
      const path = objectPath(ConfigMapKind, this.namespace, name);
      const res = await this.client.request('GET', path, { purpose: 'get' });
      if (res.status !== 200) continue;
      const annotations = (res.body as { metadata?: { annotations?: Record<string, string> } }).metadata
        ?.annotations;
      const digest = annotations?.[DIGEST_ANNOTATION];
      const generation = Number(annotations?.[GENERATION_ANNOTATION]);
      if (digest !== undefined) this.digests.set(name, digest);
      if (Number.isSafeInteger(generation) && generation > highest) highest = generation;
    }
    this.generation = highest;
  }
}

function digestOf(content: object): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** Everything published is served: there is no data-plane report in a cluster (services read the files). */
function servedAll(generation: number, uids: Iterable<string>): ApplyReport {
  return { generation, served: new Set(uids), failed: new Map() };
}

/** The contract, one ConfigMap per data-plane role (`eventing-contract-<role>`, key `contract.json`). */
export class ContractConfigMaps implements ContractSink {
  private readonly maps: DigestedConfigMaps;

  constructor(client: KubeClient, writer: ConfigMapWriter, namespace: string) {
    this.maps = new DigestedConfigMaps(client, writer, namespace, CONTRACT_ROLES.map(contractConfigMapName));
  }

  get generation(): number {
    return this.maps.current;
  }

  async publish(body: ContractBody): Promise<ApplyReport> {
    const documents = CONTRACT_ROLES.map((role: ContractRole) => ({
      name: contractConfigMapName(role),
      role,
      key: CONTRACT_KEY,
      content: contractForRole(body, role),
    }));
    const generation = await this.maps.publish(documents);
    const uids = [body.brokers, body.triggers, body.channels ?? [], body.subscriptions ?? []].flatMap(
      (list) => list.map((e) => e.uid),
    );
    return servedAll(generation, uids);
  }
}

/** PingSource schedules for the ping adapter (`eventing-contract-ping-source`, key `schedules.json`). */
export class ScheduleConfigMap implements ScheduleSink {
  private readonly maps: DigestedConfigMaps;

  constructor(client: KubeClient, writer: ConfigMapWriter, namespace: string) {
    this.maps = new DigestedConfigMaps(client, writer, namespace, [SCHEDULES_CONFIGMAP]);
  }

  async publish(schedules: PingSchedule[]): Promise<ApplyReport> {
    const generation = await this.maps.publish([
      { name: SCHEDULES_CONFIGMAP, role: 'ping-source', key: SCHEDULES_KEY, content: { schedules } },
    ]);
    return servedAll(
      generation,
      schedules.map((s) => s.uid ?? `${s.namespace}/${s.name}`),
    );
  }
}
