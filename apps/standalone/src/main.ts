import { registerCesqlValidator } from '@eventing/api';
import { cesqlSyntaxError } from '@eventing/filters';
import { startTracing, type TracingOptions } from '@eventing/observability';
import { startService, closeOnSignals } from '@eventing/runtime';
import { parseOptions, standaloneTracing, USAGE, UsageError, type StandaloneOptions } from './options';
import { StandaloneModule, STANDALONE_RUNTIME } from './standalone.module';
import type { StandaloneRuntime } from './standalone-runtime';
import { SINKS_PREFIX, createBuiltinSinks } from './builtin-sinks';
import { EVENT_TYPES_PATH, eventTypesEndpoint, isEventTypesPath } from './event-types-endpoint';

// Trigger validation rejects a CESQL expression that does not parse, naming its position.
registerCesqlValidator(cesqlSyntaxError);

/** Starts standalone mode; resolves once the folder is loaded and the port is open. */
export async function runStandalone(
  options: StandaloneOptions,
  print: (line: string) => void = (l) => console.log(l),
) {
  let runtime: StandaloneRuntime | undefined;
  const sinks = createBuiltinSinks(print);
  const service = await startService({
    module: StandaloneModule.register(options, print),
    port: options.port,
    host: options.host,
    headersTimeoutMs: options.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    fastPath: (app) => {
      runtime = app.get<StandaloneRuntime>(STANDALONE_RUNTIME);
      const ingress = runtime.dataPlane.handler;
      const eventTypes = eventTypesEndpoint(runtime);
      return (req, res) => {
        if (req.url?.startsWith(SINKS_PREFIX)) void sinks(req, res);
        else if (req.url?.startsWith(EVENT_TYPES_PATH) && isEventTypesPath(req.url)) eventTypes(req, res);
        else ingress(req, res);
      };
    },
  });
  print(
    `eventing standalone: serving on ${service.url}, resources from ${options.configDir}${options.watch ? ' (watching for edits)' : ''}`,
  );
  await runtime!.start(service.url);
  return { service, runtime: runtime! };
}

if (require.main === module) {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    const message =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? (err as Error).message
        : String(err);
    console.error(`error: ${message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  let tracingOptions: TracingOptions;
  try {
    tracingOptions = standaloneTracing(options, process.env);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  }
  const port = options.port;
  void startTracing(tracingOptions)
    .then(async (tracing) => {
      if (tracingOptions.endpoint !== '')
        console.log(`eventing standalone: exporting spans to ${tracingOptions.endpoint}`);
      try {
        const { service } = await runStandalone(options);
        // Spans still buffered are exported before the process exits.
        closeOnSignals({ close: () => service.close().finally(() => tracing.shutdown()) }, (m) =>
          console.log(m),
        );
      } catch (err) {
        await tracing.shutdown();
        throw err;
      }
    })
    .catch((err: Error & { code?: string }) => {
      const hint =
        err.code === 'EADDRINUSE' ? ` (port ${port} is taken: pass --port with a free one, or 0)` : '';
      console.error(`error: could not start: ${err.message}${hint}`);
      process.exit(1);
    });
}
