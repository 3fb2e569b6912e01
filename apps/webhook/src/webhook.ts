import type { Server } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { allKinds, type KindDefinition } from '@eventing/api';
import { ConfigMapKind, KubeClient, ListWatch } from '@eventing/kube';
import { createLogger, type LogLevel } from '@eventing/runtime';
import { AdmissionHandler } from './admission/handler';
import {
  DirectoryCertificateSource,
  SecretCertificateSource,
  type CertificateSource,
  type ServingIdentity,
} from './certs/cert-source';
import {
  ADMISSION_CONFIGMAPS,
  AdmissionConfigStore,
  type AdmissionConfigMap,
} from './config/admission-config';
import { errorText } from './kube/errors';
import { applyWebhookConfigurations, kubeClients, kubeSecretClient } from './kube/kube-api';
import type { WebhookTarget } from './kube/registration';
import { startAdmissionServer } from './admission-server';
import { startSinkBindings } from './sinkbinding/sinkbindings';

export interface WebhookSettings {
  port: number;
  host: string;
  /** Namespace of the certificate Secret and of the ConfigMaps read (`SYSTEM_NAMESPACE`). */
  systemNamespace: string;
  /** The Service in front of the webhook: its DNS names go into the certificate. */
  serviceName: string;
  secretName: string;
  /** Use `tls.crt`/`tls.key`(/`ca.crt`) from this directory (cert-manager) instead of the Secret. */
  certDir?: string;
  /** Create the webhook configurations when absent (otherwise only update those installed). */
  register: boolean;
  /** Register with `clientConfig.url` = this base URL instead of the Service (a process run locally). */
  registerUrl?: string;
  /** Path of a kubeconfig; default as kubectl: `KUBECONFIG`, `~/.kube/config`, then in-cluster. */
  kubeconfig?: string;
  /** More names or addresses the issued certificate must cover. */
  extraHosts: string[];
  certValidityDays: number;
  certRenewBeforeDays: number;
  /** How often the certificate (and the webhook configurations) are checked. */
  certCheckIntervalMs: number;
  logLevel: LogLevel;
  /** Kinds served; all kinds of the API unless a test narrows them. */
  kinds?: readonly KindDefinition[];
}

export interface RunningWebhook {
  /** `https://host:port` actually bound. */
  url: string;
  port: number;
  server: Server;
  /** The identity served now (follows renewals). */
  identity(): ServingIdentity;
  close(): Promise<void>;
}

/** DNS names of a Service, as the API server and other clients may address it. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    `${service}.${namespace}`,
    service,
  ];
}

/** Loads a kubeconfig the way kubectl finds one. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/**
 * Starts the admission webhook: reads the admission ConfigMaps of the system namespace and keeps
 * following them, loads (or issues) its serving certificate, serves AdmissionReviews over HTTPS,
 * and brings the webhook configurations' CA bundle and rules up to date (creating them with
 * `register`). Certificate changes are applied to the running server without a restart.
 */
export async function startWebhook(settings: WebhookSettings): Promise<RunningWebhook> {
  const log = createLogger({ service: 'webhook', level: settings.logLevel });
  const kinds = settings.kinds ?? allKinds;
  const kubeConfig = loadKubeConfig(settings.kubeconfig);
  const { core, admission } = kubeClients(kubeConfig);
  const namespace = settings.systemNamespace;

  const kubeClient = new KubeClient(kubeConfig, { userAgent: 'eventing-webhook' });
  const configStore = new AdmissionConfigStore();
  const names: readonly string[] = ADMISSION_CONFIGMAPS;
  const configWatch = new ListWatch(
    kubeClient,
    { ...ConfigMapKind, namespace },
    (event) => {
      const name = event.object.metadata.name ?? '';
      if (!names.includes(name)) return;
      const data =
        event.type === 'delete' ? undefined : ((event.object['data'] ?? {}) as Record<string, string>);
      const problems = configStore.set(name as AdmissionConfigMap, data);
      if (problems.length > 0)
        log.error(
          { configMap: `${namespace}/${name}`, problems },
          'ConfigMap not applied: the last good value stays in use',
        );
      else log.info({ configMap: `${namespace}/${name}`, present: data !== undefined }, 'ConfigMap applied');
    },
    { logger: log },
  ).start();
  const stopAll: (() => unknown)[] = [() => kubeClient.close()];
  try {
    stopAll.push(() => configWatch.stop());
    // Absent ConfigMaps are upstream's shipped values, which the store starts with.
    await withTimeout(configWatch.synced(), 60_000, `listing ConfigMaps in ${namespace}`);
    const sinkBindings = startSinkBindings({ kubeConfig, systemNamespace: namespace, log });
    stopAll.push(() => sinkBindings.stop());

    const hosts = [...new Set([...serviceHosts(settings.serviceName, namespace), ...settings.extraHosts])];
    const target: WebhookTarget = settings.registerUrl
      ? { url: settings.registerUrl }
      : { service: { name: settings.serviceName, namespace } };
    // Set once serving; a certificate that changes before then is read when the server starts.
    const serving: { setIdentity?: (identity: ServingIdentity) => void } = {};
    const applyConfigurations = async (identity: ServingIdentity) => {
      // Without a CA bundle of our own (cert-manager), the configurations are only created, never patched.
      if (identity.caBundle === undefined && !settings.register) return;
      try {
        await applyWebhookConfigurations(admission, {
          kinds,
          caBundle: identity.caBundle ?? '',
          target,
          create: settings.register,
          log,
        });
        await sinkBindings.register({ caBundle: identity.caBundle ?? '', target, create: settings.register });
      } catch (err) {
        log.error({ error: errorText(err) }, 'could not update the webhook configurations');
      }
    };
    const onCertificate = (identity: ServingIdentity) => {
      serving.setIdentity?.(identity);
      log.info({ notAfter: identity.notAfter?.toISOString() }, 'serving certificate reloaded');
      void applyConfigurations(identity);
    };
    const certs: CertificateSource = settings.certDir
      ? new DirectoryCertificateSource({
          dir: settings.certDir,
          checkIntervalMs: Math.min(settings.certCheckIntervalMs, 10_000),
          log,
          onChange: onCertificate,
        })
      : new SecretCertificateSource({
          client: kubeSecretClient(core),
          namespace,
          name: settings.secretName,
          hosts,
          validityDays: settings.certValidityDays,
          renewBeforeDays: settings.certRenewBeforeDays,
          kubeClient,
          checkIntervalMs: settings.certCheckIntervalMs,
          log,
          onChange: onCertificate,
        });
    await certs.start();
    stopAll.push(() => certs.stop());

    const handler = new AdmissionHandler(() => configStore.current(), kinds);
    const server = await startAdmissionServer({
      handler,
      identity: certs.current(),
      port: settings.port,
      host: settings.host,
      log,
      routes: sinkBindings.listener,
    });
    serving.setIdentity = (next) => server.setIdentity(next);
    // A renewal that landed while the server was starting.
    server.setIdentity(certs.current());

    await applyConfigurations(certs.current());
    const recheck = setInterval(
      () => void applyConfigurations(certs.current()),
      settings.certCheckIntervalMs,
    );
    recheck.unref();
    stopAll.push(() => clearInterval(recheck));

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        await server.close();
        for (const stop of stopAll.reverse()) await stop();
      })();
      return closing;
    };
    return {
      url: server.url,
      port: server.port,
      server: server.server,
      identity: () => certs.current(),
      close,
    };
  } catch (err) {
    for (const stop of stopAll.reverse()) await stop();
    throw err;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${ms / 1000} s: is the API server reachable?`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
