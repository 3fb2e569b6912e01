import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, LeaderElector } from '@eventing/kube';
import type { Logger } from '@eventing/runtime';
import type { WebhookTarget } from '../kube/registration';
import { errorText } from '../kube/errors';
import { sinkBindingListener } from './admission';
import { SinkBindingBinder } from './binder';
import type { SubjectKind } from './binding-index';
import { applySinkBindingConfiguration } from './registration';

export interface SinkBindingsOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the leader election Lease. */
  systemNamespace: string;
  log: Logger;
  /** Elect one replica to patch subjects (every replica admits). Default true. */
  leaderElection?: boolean;
}

/** The SinkBinding side of the webhook process: its admission path, its configuration, its reconciler. */
export interface SinkBindings {
  /** Serves `POST /sinkbindings`; false for any other path. */
  listener(req: IncomingMessage, res: ServerResponse): boolean;
  /** Brings the SinkBinding webhook configuration up to date (and keeps its rules following the bindings). */
  register(options: { caBundle: string; target: WebhookTarget; create: boolean }): Promise<void>;
  readonly binder: SinkBindingBinder;
  stop(): Promise<void>;
}

/**
 * Starts following SinkBindings and, on the elected replica, binding their existing subjects. It
 * does not hold up the webhook: a subject admitted before the bindings are listed is patched by the
 * reconciler once they are.
 */
export function startSinkBindings(options: SinkBindingsOptions): SinkBindings {
  const { log } = options;
  const client = new KubeClient(options.kubeConfig, { userAgent: 'eventing-webhook-sinkbindings' });
  let registration: { caBundle: string; target: WebhookTarget; create: boolean } | undefined;
  let kinds: SubjectKind[] = [];
  let registering: Promise<void> = Promise.resolve();
  const register = (): Promise<void> => {
    const params = registration;
    if (params === undefined) return registering;
    registering = registering
      .then(() => applySinkBindingConfiguration(client, { ...params, kinds, log }))
      .catch((err) =>
        log.error({ error: errorText(err) }, 'could not update the SinkBinding webhook configuration'),
      );
    return registering;
  };
  let elector: LeaderElector | undefined;
  const binder = new SinkBindingBinder({
    client,
    log,
    leading: () => elector === undefined || elector.isLeader,
    onKindsChanged: (next) => {
      kinds = next;
      void register();
    },
  });
  if (options.leaderElection !== false) {
    elector = new LeaderElector(client, {
      namespace: options.systemNamespace,
      name: 'eventing-webhook.sinkbindings',
      identity: `${hostname()}_${randomBytes(4).toString('hex')}`,
      logger: log,
      onStartedLeading: () => binder.resyncAll(),
    });
  }
  let stopped = false;
  void binder.start().then(() => {
    if (stopped) return;
    log.info({ sinkBindings: binder.index.all().length }, 'SinkBindings listed');
    elector?.start();
  });
  const listener = sinkBindingListener(binder.index, log);
  return {
    listener,
    binder,
    register: (params) => {
      registration = params;
      return register();
    },
    stop: async () => {
      stopped = true;
      await elector?.stop();
      await binder.stop();
      await registering;
      await client.close();
    },
  };
}
