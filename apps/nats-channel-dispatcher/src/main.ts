import {
  EVENTTYPE_REGISTRY_URL_SETTING,
  MAX_BODY_BYTES_SETTING,
  dispatchSettings,
  jetStreamStoreOptions,
  natsSettings,
  shutdownGraceSetting,
  defineStoreService,
} from '@eventing/broker';
import { JetStreamChannelBackend } from '@eventing/channels/jetstream';
import { FRAMES_SETTINGS, LOG_LEVEL_SETTING, SERVICE_SETTINGS } from '@eventing/runtime';

const NAME = 'nats-channel-dispatcher';

/** nats-channel-dispatcher's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  ...natsSettings(NAME),
  MAX_BODY_BYTES_SETTING,
  EVENTTYPE_REGISTRY_URL_SETTING,
  ...dispatchSettings('subscription'),
  shutdownGraceSetting('pending messages may still be delivered'),
  ...FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
] as const;

/**
 * nats-channel-dispatcher: the contract's NatsJetStreamChannels, received (published to their stream,
 * 202 on JetStream's ack) and dispatched (a durable pull consumer per Subscription, so replicas share
 * its messages).
 */
export const natsChannelDispatcher = defineStoreService(NAME, SETTINGS, (settings) => ({
  store: 'jetstream',
  resources: 'channels',
  backend: (log) => new JetStreamChannelBackend(jetStreamStoreOptions(settings, log)),
  ingress: true,
  dispatch: {},
}));

if (require.main === module) natsChannelDispatcher.main();
