import { closeOnSignals, envInt, envString, startService } from '@eventing/runtime';
import { FilterModule, FilterService, type FilterSettings } from './filter.module';

/** Reads broker-filter settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): FilterSettings & { port: number } {
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 4 * 1024 * 1024, 1),
  };
}

/** Starts broker-filter. */
export function startFilter(settings: FilterSettings & { port: number; host?: string }) {
  return startService({
    module: FilterModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(FilterService).handler,
  });
}

if (require.main === module) {
  startFilter(settingsFromEnv(process.env)).then(
    (service) => {
      console.log(
        JSON.stringify({ level: 'info', service: 'broker-filter', msg: `listening on ${service.url}` }),
      );
      closeOnSignals(service, (m) =>
        console.log(JSON.stringify({ level: 'info', service: 'broker-filter', msg: m })),
      );
    },
    (err: Error) => {
      console.error(
        JSON.stringify({ level: 'error', service: 'broker-filter', msg: `could not start: ${err.message}` }),
      );
      process.exit(1);
    },
  );
}
