import { KubeConfig } from '@kubernetes/client-node';
import { ControlPlaneMetrics } from '@eventing/observability';
import { ConfigMapWriter, controllerKinds, KubernetesResourceStore, LeaderElector } from '@eventing/kube';
import {
  capabilitiesOf,
  clusterServiceAddressBook,
  configureSources,
  Controller,
  KAFKA_BROKER_CLASS,
  type StoreProvisioner,
} from '@eventing/reconciler';
import { createLogger, type Logger, type Readiness } from '@eventing/runtime';
import { ContractConfigMaps, ScheduleConfigMap } from './contract-configmaps';
import type { ControllerSettings } from './options';

/** Loads the kubeconfig a setting names, else the in-cluster service account. */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== '') kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}

/**
 * The controller process: a Kubernetes store (list-watch caches of every kind), the reconcile loop of
 * libs/reconciler laid out as in a cluster, the contract written to one ConfigMap per data-plane role,
 * and leader election so that of several replicas only one reconciles and writes.
 */
export class ClusterController implements Readiness {
  readonly metrics = new ControlPlaneMetrics();
  readonly store: KubernetesResourceStore;
  readonly controller: Controller;
  readonly contract: ContractConfigMaps;
  private readonly elector: LeaderElector | undefined;
  private readonly log: Logger;
  private leading = false;
  /** Starting and stopping the loop as leadership comes and goes, one after the other. */
  private transitions: Promise<void> = Promise.resolve();
  private synced = false;
  private stopped = false;
  /** Provisioners of durable stores, opened by `start` when their servers are given. */
  private readonly provisioners: {
    kafka?: StoreProvisioner & { close(): Promise<void> };
    jetstream?: StoreProvisioner & { close(): Promise<void> };
  } = {};

  constructor(readonly settings: ControllerSettings) {
    this.log = createLogger({ service: 'controller', level: settings.logLevel });
    const kc = loadKubeConfig(settings.kubeconfig);
    // Sources name the API server their adapters watch: the kubeconfig's, outside a cluster too.
    const apiServerUrl = kc.getCurrentCluster()?.server;
    configureSources({
      systemNamespace: settings.systemNamespace,
      ...(apiServerUrl !== undefined ? { apiServerUrl } : {}),
    });
    this.store = new KubernetesResourceStore(kc, {
      kinds: controllerKinds({ systemNamespace: settings.systemNamespace, configMapsEverywhere: true }),
      fieldManager: 'eventing-controller',
      logger: this.log,
    });
    const client = this.store.client;
    const writer = new ConfigMapWriter(client, {
      namespace: settings.systemNamespace,
      labels: { 'app.kubernetes.io/part-of': 'knative-eventing', 'app.kubernetes.io/component': 'contract' },
    });
    this.contract = new ContractConfigMaps(client, writer, settings.systemNamespace);
    const s = settings;
    this.controller = new Controller(this.store, {
      ingressUrl: (ns, name, brokerClass) =>
        `${brokerClass === KAFKA_BROKER_CLASS ? s.kafkaBrokerUrl : s.brokerIngressUrl}/${ns}/${name}`,
      channelUrl: (ns, name, store) =>
        `${store === 'kafka' ? s.kafkaChannelUrl : store === 'jetstream' ? s.natsChannelUrl : s.imcUrl}/${ns}/${name}`,
      cluster: { filterUrl: (ns, trigger, uid) => `${s.brokerFilterUrl}/triggers/${ns}/${trigger}/${uid}` },
      addressBook: (reads) => clusterServiceAddressBook(reads, s.clusterDomain),
      capabilities: capabilitiesOf(s.stores),
      configMap: 'store',
      // Services read the ConfigMaps on their own and report nothing back.
      assumeServed: true,
      contract: {
        publish: async (body) => {
          const report = await this.contract.publish(body);
          this.metrics.contractWritten(report.generation);
          return report;
        },
      },
      schedules: new ScheduleConfigMap(client, writer, settings.systemNamespace),
      provisioner: (store) => this.provisioners[store],
      queue: { concurrency: settings.workers },
      onError: (key, error) =>
        this.log.warn(
          { key, error: error instanceof Error ? error.message : String(error) },
          'reconcile failed; retrying',
        ),
      onReconciled: this.metrics.onReconciled,
    });
    const controller = this.controller;
    this.metrics.trackQueueDepth(() => controller.depth);
    this.metrics.trackApiRequests(() => client.requests);
    if (settings.leaderElection)
      this.elector = new LeaderElector(client, {
        namespace: settings.systemNamespace,
        name: settings.leaseName,
        identity: settings.identity,
        leaseDurationMs: settings.leaseDurationMs,
        renewDeadlineMs: settings.renewDeadlineMs,
        retryPeriodMs: settings.retryPeriodMs,
        logger: this.log,
        onStartedLeading: () => this.lead(),
        // A leader that could not renew in time stops reconciling before anyone else may start,
        // keeps its caches, and campaigns again (a kubelet would restart an exiting one anyway).
        onStoppedLeading: () => this.follow(),
        onNewLeader: (identity) => this.log.info({ leader: identity }, 'leader'),
      });
  }

  /** Fills the caches, then reconciles (at once, or once elected). */
  async start(): Promise<void> {
    await this.openProvisioners();
    this.store.start();
    await this.store.synced();
    this.synced = true;
    this.log.info(
      { kinds: this.controller.kinds().map((k) => k.kind), identity: this.settings.identity },
      'caches synced',
    );
    if (this.elector) this.elector.start();
    else this.lead();
  }

  /** Loads the store clients only when their servers are given, so a memory-only install loads neither. */
  private async openProvisioners(): Promise<void> {
    const { kafkaBootstrap, natsUrls } = this.settings;
    if (kafkaBootstrap.length > 0 && !this.provisioners.kafka) {
      const { KafkaTopicProvisioner } = await import('@eventing/channels/kafka');
      this.provisioners.kafka = new KafkaTopicProvisioner({ bootstrap: kafkaBootstrap });
    }
    if (natsUrls.length > 0 && !this.provisioners.jetstream) {
      const { JetStreamStreamProvisioner } = await import('@eventing/channels/jetstream');
      this.provisioners.jetstream = new JetStreamStreamProvisioner({ servers: natsUrls });
    }
  }

  private lead(): void {
    this.transitions = this.transitions.then(() => {
      if (this.stopped || this.leading) return;
      this.leading = true;
      this.metrics.setLeader(true);
      this.log.info({ identity: this.settings.identity }, 'leading: reconciling');
      this.controller.start();
    });
  }

  private follow(): void {
    this.transitions = this.transitions.then(async () => {
      if (!this.leading) return;
      this.leading = false;
      this.metrics.setLeader(false);
      this.log.warn(
        { identity: this.settings.identity },
        'not leading any more: stopped reconciling, campaigning again',
      );
      await this.controller.stop();
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  readiness(): { ready: boolean; reason?: string } {
    if (!this.synced) return { ready: false, reason: 'caches not synced yet' };
    return { ready: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.transitions;
    await this.controller.stop();
    if (this.elector) await this.elector.stop();
    await this.store.stop();
    await Promise.all(
      Object.values(this.provisioners).map((p) =>
        p
          .close()
          .catch((err: unknown) => this.log.warn({ error: String(err) }, 'closing a store client failed')),
      ),
    );
  }
}
