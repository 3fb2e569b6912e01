import { parse } from 'yaml';
import type { StoreKind } from '@eventing/contract';
import type { StandaloneOptions } from './options';

/** Where the durable stores are, when given. */
export interface StoreConnections {
  kafka?: { bootstrap: string[]; from: string };
  nats?: { servers: string[]; from: string };
}

/** ConfigMaps that give the Kafka bootstrap servers, as upstream's KafkaChannel and Kafka broker read them. */
const KAFKA_CONFIGMAPS = ['kafka-channel-config', 'kafka-broker-config'];
/** The ConfigMap that gives the NATS servers, as upstream's JetStream channel reads it. */
const NATS_CONFIGMAP = 'config-nats';

/**
 * Finds the durable stores: the command line first, then ConfigMaps in the folder (in the
 * `knative-eventing` namespace first, as upstream installs them, then any namespace).
 */
export function storeConnections(
  options: Pick<StandaloneOptions, 'kafkaBootstrap' | 'natsUrl'>,
  configMaps: ReadonlyMap<string, Record<string, string>>,
): StoreConnections {
  const out: StoreConnections = {};
  const find = (name: string) => {
    const preferred = configMaps.get(`knative-eventing/${name}`);
    if (preferred) return { data: preferred, key: `knative-eventing/${name}` };
    for (const [key, data] of configMaps) if (key.endsWith(`/${name}`)) return { data, key };
    return undefined;
  };
  if (options.kafkaBootstrap) out.kafka = { bootstrap: options.kafkaBootstrap, from: '--kafka-bootstrap' };
  else
    for (const name of KAFKA_CONFIGMAPS) {
      const found = find(name);
      const servers = found?.data['bootstrap.servers']
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (found && servers?.length) {
        out.kafka = { bootstrap: servers, from: `ConfigMap ${found.key}` };
        break;
      }
    }
  if (options.natsUrl) out.nats = { servers: options.natsUrl, from: '--nats-url' };
  else {
    const found = find(NATS_CONFIGMAP);
    const url = found ? natsUrlOf(found.data) : undefined;
    if (found && url)
      out.nats = {
        servers: url
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        from: `ConfigMap ${found.key}`,
      };
  }
  return out;
}

/** The URL of a config-nats ConfigMap: `eventing-nats` holds YAML with `url`, or a plain `url` key. */
function natsUrlOf(data: Record<string, string>): string | undefined {
  const nested = data['eventing-nats'];
  if (nested !== undefined) {
    try {
      const parsed = parse(nested) as { url?: unknown } | null;
      if (typeof parsed?.url === 'string') return parsed.url;
    } catch {
      // Not YAML: fall through to the plain key.
    }
  }
  return data['url'];
}

/** The store kinds a set of connections makes available (memory always). */
export function storeKinds(connections: StoreConnections): StoreKind[] {
  return [
    'memory',
    ...(connections.kafka ? (['kafka'] as const) : []),
    ...(connections.nats ? (['jetstream'] as const) : []),
  ];
}
