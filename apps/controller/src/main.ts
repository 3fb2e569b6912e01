import { EventTypeRegistrar, OBSERVED_TYPES_PATH, registrarHandler } from '@eventing/reconciler';
import { runService, startService } from '@eventing/runtime';
import { ClusterController } from './controller-runtime';
import { ControllerModule } from './controller.module';
import { readSettings, SettingsError, USAGE, type ControllerSettings } from './options';

/**
 * eventing-controller: one reconciler per kind, as upstream's controller —
 * Broker, Trigger, Channel, InMemoryChannel, KafkaChannel, NatsJetStreamChannel, Subscription,
 * PingSource, and the kinds that own children (libs/reconciler OWNED_KINDS) — over the cluster's
 * API, writing the data-plane contract into ConfigMaps.
 */
export async function startController(settings: ControllerSettings) {
  const controller = new ClusterController(settings);
  // Broker and channel ingress hand the event types they see to the controller, which creates the
  // EventTypes (the data plane does not talk to the API server): docs/ARCHITECTURE.md, "Event registry".
  const observedTypes = registrarHandler(new EventTypeRegistrar(controller.store), {
    enabled: () => {
      const features = controller.store.get('', 'ConfigMap', settings.systemNamespace, 'config-features') as
        { data?: Record<string, string> } | undefined;
      return features?.data?.['eventtype-auto-create'] === 'enabled';
    },
  });
  const service = await startService({
    module: ControllerModule.register(controller),
    port: settings.port,
    // Besides probes and metrics, the controller serves only the observed event types.
    fastPath: () => (req, res) => {
      if (req.url === OBSERVED_TYPES_PATH) return observedTypes(req, res);
      res.statusCode = 404;
      res.end();
    },
  });
  await controller.start();
  return Object.assign(service, { controller });
}

if (require.main === module) {
  let settings: ControllerSettings | 'help';
  try {
    settings = readSettings(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(`eventing-controller: ${err.message}`);
    process.exit(2);
  }
  if (settings === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  const chosen = settings;
  runService('controller', () => startController(chosen));
}
