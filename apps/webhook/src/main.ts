import { parseArgs } from 'node:util';
import { ConfigError, closeOnSignals, envInt, envLogLevel, envString } from '@eventing/runtime';
import type { WebhookSettings } from './webhook';

const SERVICE = 'webhook';

export const HELP = `Usage: webhook [flags]

The admission webhook for the eventing resources: defaulting (POST /defaulting) and validation
(POST /validation) of every kind, over HTTPS with a certificate it issues and renews itself.
Talks to the API server as kubectl does (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster).

Flags (environment variable in brackets):
  --port <n>                 HTTPS port [PORT] (default 8443)
  --host <addr>              address to listen on [HOST] (default 0.0.0.0)
  --namespace <ns>           system namespace: certificate Secret and ConfigMaps config-features,
                             config-br-defaults, default-ch-webhook, config-ping-defaults
                             [SYSTEM_NAMESPACE] (default knative-eventing)
  --service <name>           Service in front of the webhook; its DNS names go into the certificate
                             [WEBHOOK_SERVICE] (default eventing-webhook)
  --secret <name>            Secret holding the certificate [WEBHOOK_SECRET_NAME]
                             (default eventing-webhook-certs)
  --cert-dir <dir>           serve tls.crt/tls.key from this directory instead (e.g. a cert-manager
                             Certificate's Secret, mounted); nothing is issued, and the configurations'
                             caBundle is taken from ca.crt when present [WEBHOOK_CERT_DIR]
  --register                 create the MutatingWebhookConfiguration and ValidatingWebhookConfiguration
                             when absent (without it, only installed ones are updated) [WEBHOOK_REGISTER=true]
  --register-url <url>       register with clientConfig.url = <url>/defaulting and <url>/validation
                             instead of the Service, so an API server calls a process run outside the
                             cluster; implies --register [WEBHOOK_REGISTER_URL]
  --kubeconfig <path>        kubeconfig to use [KUBECONFIG]
  --cert-validity-days <n>   lifetime of an issued certificate (default 90)
  --renew-before-days <n>    replace a certificate expiring within this many days (default 7)
  --check-interval <s>       how often the certificate and the configurations are checked (default 3600)
  --log-level <level>        debug, info, warn, error [LOG_LEVEL] (default info)
  --help                     print this help

Example, against any cluster kubectl reaches (the API server must reach this machine):
  npm run webhook -- --register-url https://127.0.0.1:8443 --port 8443
`;

function int(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new ConfigError(`--${name} ${raw}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Reads the settings from flags, then the environment, then defaults. Throws ConfigError naming the flag. */
export function settingsFrom(argv: string[], env: NodeJS.ProcessEnv): WebhookSettings | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        namespace: { type: 'string' },
        service: { type: 'string' },
        secret: { type: 'string' },
        'cert-dir': { type: 'string' },
        register: { type: 'boolean' },
        'register-url': { type: 'string' },
        kubeconfig: { type: 'string' },
        'cert-validity-days': { type: 'string' },
        'renew-before-days': { type: 'string' },
        'check-interval': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const registerUrl = v['register-url'] ?? (env['WEBHOOK_REGISTER_URL'] || undefined);
  const extraHosts: string[] = [];
  if (registerUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(registerUrl);
    } catch {
      throw new ConfigError(`--register-url ${registerUrl}: not a URL (e.g. https://127.0.0.1:8443)`);
    }
    if (url.protocol !== 'https:')
      throw new ConfigError(`--register-url ${registerUrl}: the API server calls webhooks over https only`);
    extraHosts.push(url.hostname.replace(/^\[|\]$/g, ''));
  }
  // Outside a cluster the API server (or a developer's curl) reaches the process on this machine.
  if (env['KUBERNETES_SERVICE_HOST'] === undefined) extraHosts.push('127.0.0.1', 'localhost');
  const validity = int(v['cert-validity-days'], 'cert-validity-days', 90, 2, 3650);
  const renewBefore = int(v['renew-before-days'], 'renew-before-days', 7, 1, 3649);
  if (renewBefore >= validity)
    throw new ConfigError(
      `--renew-before-days ${renewBefore} must be less than --cert-validity-days ${validity}`,
    );
  const logLevel =
    v['log-level'] !== undefined
      ? envLogLevel({ '--log-level': v['log-level'] }, '--log-level', 'info')
      : envLogLevel(env, 'LOG_LEVEL', 'info');
  const settings: WebhookSettings = {
    port: v.port !== undefined ? int(v.port, 'port', 8443, 0, 65535) : envInt(env, 'PORT', 8443, 0, 65535),
    host: v.host ?? envString(env, 'HOST', '0.0.0.0'),
    systemNamespace: v.namespace ?? envString(env, 'SYSTEM_NAMESPACE', 'knative-eventing'),
    serviceName: v.service ?? envString(env, 'WEBHOOK_SERVICE', 'eventing-webhook'),
    secretName: v.secret ?? envString(env, 'WEBHOOK_SECRET_NAME', 'eventing-webhook-certs'),
    register: v.register === true || registerUrl !== undefined || env['WEBHOOK_REGISTER'] === 'true',
    extraHosts,
    certValidityDays: validity,
    certRenewBeforeDays: renewBefore,
    certCheckIntervalMs: int(v['check-interval'], 'check-interval', 3600, 1, 86_400) * 1000,
    logLevel,
  };
  const certDir = v['cert-dir'] ?? (env['WEBHOOK_CERT_DIR'] || undefined);
  if (certDir !== undefined) settings.certDir = certDir;
  if (registerUrl !== undefined) settings.registerUrl = registerUrl;
  if (v.kubeconfig !== undefined) settings.kubeconfig = v.kubeconfig;
  return settings;
}

if (require.main === module) {
  let settings: WebhookSettings | 'help';
  try {
    settings = settingsFrom(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`webhook: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const chosen = settings;
  const log = (level: string, msg: string) => console.log(JSON.stringify({ level, service: SERVICE, msg }));
  // Loaded only to run: `--help` and a bad flag answer without loading the Kubernetes client.
  import('./webhook')
    .then(({ startWebhook }) => startWebhook(chosen))
    .then(
      (running) => {
        log('info', `listening on ${running.url}`);
        closeOnSignals(running, (m) => log('info', m));
      },
      (err: Error) => {
        log('error', `could not start: ${err.message}`);
        process.exit(1);
      },
    );
}
