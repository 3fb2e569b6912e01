/** What the source reconcilers need to know about the installation they run in. */
export interface SourceSettings {
  /** Image of each ApiServerSource's adapter Deployment (upstream's `APISERVER_RA_IMAGE`). */
  apiServerSourceImage: string;
  /** Command that starts the adapter in that image. */
  apiServerSourceCommand: string[];
  /**
   * The API server URL adapters talk to, which is the `source` of their events (upstream: the
   * REST config's host). Undefined when unknown: `ceAttributes` then name no source.
   */
  apiServerUrl?: string;
  /** Namespace of the eventing installation (`SYSTEM_NAMESPACE`). */
  systemNamespace: string;
}

/** The image every component ships in (the chart's `global.image`). */
export const DEFAULT_SOURCE_IMAGE = 'ghcr.io/knative-eventing-ts/eventing:0.1.0';

/** Settings from the environment, as a controller Deployment sets it (in-cluster API server URL included). */
export function sourceSettingsFromEnv(env: NodeJS.ProcessEnv): SourceSettings {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const settings: SourceSettings = {
    apiServerSourceImage: env['APISERVER_RA_IMAGE'] || DEFAULT_SOURCE_IMAGE,
    apiServerSourceCommand: ['node', 'dist/apps/apiserver-source-adapter/main.js'],
    systemNamespace: env['SYSTEM_NAMESPACE'] || 'knative-eventing',
  };
  if (host) settings.apiServerUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return settings;
}

let current: SourceSettings | undefined;

/** The settings source reconcilers use: those configured, else read from the process environment. */
export function sourceSettings(): SourceSettings {
  current ??= sourceSettingsFromEnv(process.env);
  return current;
}

/**
 * Sets what the source reconcilers use (a controller run outside the cluster names the API server of
 * its kubeconfig; standalone names itself). Unset fields keep their current value.
 */
export function configureSources(settings: Partial<SourceSettings>): void {
  current = { ...sourceSettings(), ...settings };
}
