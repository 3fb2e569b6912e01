// Writes charts/eventing/values.schema.json (run: node tests/charts/src/write-schema.mjs from the repository root);
// charts.spec.ts fails when the committed schema differs from what this writes. Component values
// are strict (a misspelt key fails at install); settings are typed per service.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const int = (min = 0, max) => ({
  type: 'integer',
  minimum: min,
  ...(max !== undefined ? { maximum: max } : {}),
});
const str = (extra = {}) => ({ type: 'string', ...extra });
const logLevel = { enum: ['debug', 'info', 'warn', 'error'] };
const bool = { enum: ['true', 'false', true, false] };
const onOff = { enum: ['on', 'off'] };
const hostPorts = str({
  pattern: '^$|^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$',
  description: 'host:port[,host:port…]',
});
const settings = {
  controller: {
    STORES: str({ pattern: '^(memory|kafka|jetstream)(,(memory|kafka|jetstream))*$' }),
    CLUSTER_DOMAIN: str(),
    LEADER_ELECTION: bool,
    LEASE_NAME: str(),
    WORKERS: int(1),
    LOG_LEVEL: logLevel,
  },
  webhook: {
    WEBHOOK_SECRET_NAME: str({ minLength: 1 }),
    WEBHOOK_SERVICE: str({ minLength: 1 }),
    WEBHOOK_REGISTER: bool,
    WEBHOOK_CERT_DIR: str(),
    LOG_LEVEL: logLevel,
  },
  'broker-ingress': {
    MAX_BODY_BYTES: int(1),
    MAX_TTL: int(1, 255),
    CHANNEL_TIMEOUT_MS: int(1),
    DELIVERY_FRAMES: onOff,
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'broker-filter': {
    MAX_BODY_BYTES: int(1),
    DELIVERY_FRAMES: onOff,
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'imc-dispatcher': {
    QUEUE_CAPACITY: int(1),
    MAX_BODY_BYTES: int(1),
    SHUTDOWN_GRACE_MS: int(0),
    DELIVERY_FRAMES: onOff,
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'kafka-channel-dispatcher': {
    KAFKA_BOOTSTRAP_SERVERS: hostPorts,
    MAX_BODY_BYTES: int(1),
    SHUTDOWN_GRACE_MS: int(0),
    DELIVERY_FRAMES: onOff,
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'nats-channel-dispatcher': {
    NATS_URL: str({ pattern: '^$|^nats://[^,\\s]+(,nats://[^,\\s]+)*$' }),
    MAX_BODY_BYTES: int(1),
    SHUTDOWN_GRACE_MS: int(0),
    DELIVERY_FRAMES: onOff,
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'kafka-broker-receiver': {
    KAFKA_BOOTSTRAP_SERVERS: hostPorts,
    MAX_BODY_BYTES: int(1),
    MAX_TTL: int(1, 255),
    SHUTDOWN_GRACE_MS: int(0),
    ACCEPT_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'kafka-broker-dispatcher': {
    KAFKA_BOOTSTRAP_SERVERS: hostPorts,
    RECEIVER_URL: str({ pattern: '^https?://[^/]+/?$' }),
    REPLY_TIMEOUT_MS: int(1),
    SHUTDOWN_GRACE_MS: int(0),
    DELIVERY_FRAMES: onOff,
    LOG_LEVEL: logLevel,
  },
  'ping-source': {
    COORDINATION: { enum: ['kubernetes', 'none'] },
    LEASE_NAME: str({ minLength: 1 }),
    JITTER_MS: int(0, 60000),
    CATCH_UP_MS: int(0),
    SHUTDOWN_GRACE_MS: int(0),
    LOG_LEVEL: logLevel,
  },
};
const required = {
  'kafka-channel-dispatcher': 'KAFKA_BOOTSTRAP_SERVERS',
  'kafka-broker-receiver': 'KAFKA_BOOTSTRAP_SERVERS',
  'kafka-broker-dispatcher': 'KAFKA_BOOTSTRAP_SERVERS',
  'nats-channel-dispatcher': 'NATS_URL',
};
const quantity = {
  anyOf: [
    { type: 'string', pattern: '^[0-9.]+(m|k|Ki|M|Mi|G|Gi|T|Ti)?$' },
    { type: 'number', minimum: 0 },
  ],
};
const obj = (properties, extra = {}) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...extra,
});
const component = (name) => {
  const s = {
    ...obj({
      enabled: { type: 'boolean' },
      nameOverride: str(),
      replicas: int(0),
      image: obj({
        registry: str(),
        repository: str({ minLength: 1 }),
        tag: str({ pattern: '^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
        digest: str({ pattern: '^$|^sha256:[a-f0-9]{64}$', description: 'sha256:<64 hex>; wins over tag' }),
        pullPolicy: { enum: ['', 'Always', 'IfNotPresent', 'Never'] },
      }),
      port: int(1, 65535),
      probeScheme: { enum: ['HTTP', 'HTTPS'] },
      service: {
        oneOf: [
          { type: 'null' },
          obj(
            { name: str({ pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }), port: int(1, 65535) },
            { required: ['name', 'port'] },
          ),
        ],
      },
      kubeApi: { type: 'boolean' },
      podNameEnv: { type: 'boolean' },
      contract: {
        oneOf: [
          { type: 'null' },
          obj(
            {
              configMap: str({ minLength: 1 }),
              key: str({ minLength: 1 }),
              mountPath: str({ pattern: '^/' }),
              pathEnv: str({ pattern: '^[A-Z_][A-Z0-9_]*$' }),
            },
            { required: ['configMap', 'key', 'mountPath', 'pathEnv'] },
          ),
        ],
      },
      settings: {
        type: 'object',
        description: 'environment variables of the service by name',
        propertyNames: { pattern: '^[A-Z_][A-Z0-9_]*$' },
        additionalProperties: { type: ['string', 'integer', 'boolean'] },
        properties: settings[name],
      },
      extraEnv: {
        type: 'array',
        items: { type: 'object', required: ['name'], properties: { name: str({ minLength: 1 }) } },
      },
      args: { type: 'array', items: str() },
      resources: obj({
        requests: { type: 'object', additionalProperties: quantity },
        limits: { type: 'object', additionalProperties: quantity },
        claims: { type: 'array' },
      }),
      podDisruptionBudget: obj({
        enabled: { type: 'boolean' },
        minAvailable: { type: ['integer', 'string'] },
        maxUnavailable: { type: ['integer', 'string'] },
      }),
      autoscaling: obj({
        enabled: { type: 'boolean' },
        minReplicas: int(1),
        maxReplicas: int(1),
        targetCPUUtilizationPercentage: int(1, 100),
      }),
      podSecurityContext: { type: 'object', properties: { runAsNonRoot: { const: true } } },
      securityContext: {
        type: 'object',
        properties: { runAsNonRoot: { const: true }, allowPrivilegeEscalation: { const: false } },
      },
      terminationGracePeriodSeconds: int(0),
      podAnnotations: { type: 'object', additionalProperties: str() },
      nodeSelector: { type: 'object', additionalProperties: str() },
      tolerations: { type: 'array' },
      affinity: { type: 'object' },
      global: { type: 'object' },
    }),
  };
  if (required[name])
    s.allOf = [
      {
        if: { properties: { enabled: { const: true } }, required: ['enabled'] },
        then: {
          properties: {
            settings: { required: [required[name]], properties: { [required[name]]: { minLength: 1 } } },
          },
        },
      },
    ];
  return s;
};
const schema = {
  $schema: 'https://json-schema.org/draft-07/schema#',
  title: 'eventing chart values',
  type: 'object',
  additionalProperties: false,
  properties: {
    global: {
      type: 'object',
      properties: {
        image: obj({
          registry: str(),
          tag: str(),
          pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
          pullSecrets: { type: 'array', items: str({ minLength: 1 }) },
        }),
      },
    },
    common: { type: 'object' },
    'eventing-crds': obj({
      enabled: { type: 'boolean' },
      keep: { type: 'boolean' },
      global: { type: 'object' },
    }),
    ...Object.fromEntries(Object.keys(settings).map((n) => [n, component(n)])),
    config: obj({
      features: obj({
        enabled: { type: 'boolean' },
        data: { type: 'object', additionalProperties: { enum: ['enabled', 'disabled', 'allowed'] } },
      }),
      brokerDefaults: obj({
        enabled: { type: 'boolean' },
        clusterDefault: {
          type: 'object',
          required: ['brokerClass'],
          properties: {
            brokerClass: str({ minLength: 1 }),
            delivery: {
              type: 'object',
              properties: {
                retry: int(0),
                backoffPolicy: { enum: ['linear', 'exponential'] },
                backoffDelay: str({ pattern: '^P' }),
              },
            },
          },
        },
        namespaceDefaults: { type: 'object' },
      }),
      brokerChannel: obj({
        enabled: { type: 'boolean' },
        apiVersion: str({ minLength: 1 }),
        kind: str({ minLength: 1 }),
      }),
      defaultChannel: obj({
        enabled: { type: 'boolean' },
        clusterDefault: obj(
          { apiVersion: str({ minLength: 1 }), kind: str({ minLength: 1 }) },
          { required: ['apiVersion', 'kind'] },
        ),
        namespaceDefaults: { type: 'object' },
      }),
      pingDefaults: obj({ enabled: { type: 'boolean' }, dataMaxSize: int(-1) }),
      kafka: obj({
        enabled: { type: 'boolean' },
        bootstrapServers: hostPorts,
        topicPartitions: int(1),
        topicReplicationFactor: int(1),
      }),
      nats: obj({ enabled: { type: 'boolean' }, url: str({ pattern: '^$|^nats://' }) }),
    }),
    dashboards: obj({ enabled: { type: 'boolean' } }),
    alerts: obj({ enabled: { type: 'boolean' } }),
    kafkaBootstrap: hostPorts,
    natsUrl: str(),
  },
};
export const SCHEMA = schema;
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--stdout'))
  process.stdout.write(JSON.stringify(schema));
else if (process.argv[1] === fileURLToPath(import.meta.url))
  writeFileSync(
    join(
      dirname(fileURLToPath(import.meta.url)),
      '..',
      '..',
      '..',
      'charts',
      'eventing',
      'values.schema.json',
    ),
    JSON.stringify(schema, null, 2) + '\n',
  );
