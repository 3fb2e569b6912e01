import { closeOnSignals, envInt, envString, startService } from '@eventing/runtime';
import { IngressModule, IngressService, type IngressSettings } from './ingress.module';

/** Reads broker-ingress settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): IngressSettings & { port: number } {
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 4 * 1024 * 1024, 1),
    maxTtl: envInt(env, 'MAX_TTL', 255, 1),
    channelTimeoutMs: envInt(env, 'CHANNEL_TIMEOUT_MS', 30_000, 1),
  };
}

/** Starts broker-ingress. */
export function startIngress(settings: IngressSettings & { port: number; host?: string }) {
  return startService({
    module: IngressModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(IngressService).handler,
  });
}

if (require.main === module) {
  startIngress(settingsFromEnv(process.env)).then(
    (service) => {
      console.log(
        JSON.stringify({ level: 'info', service: 'broker-ingress', msg: `listening on ${service.url}` }),
      );
      closeOnSignals(service, (m) =>
        console.log(JSON.stringify({ level: 'info', service: 'broker-ingress', msg: m })),
      );
    },
    (err: Error) => {
      console.error(
        JSON.stringify({ level: 'error', service: 'broker-ingress', msg: `could not start: ${err.message}` }),
      );
      process.exit(1);
    },
  );
}
