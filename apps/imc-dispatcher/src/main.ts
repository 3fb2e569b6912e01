import {
  EVENTTYPE_REGISTRY_URL_SETTING,
  MAX_BODY_BYTES_SETTING,
  dispatchSettings,
  redeliverySettings,
  shutdownGraceSetting,
  defineStoreService,
} from '@eventing/broker';
import { MemoryChannelBackend } from '@eventing/channels';
import { FRAMES_SETTINGS, LOG_LEVEL_SETTING, SERVICE_SETTINGS, intSetting } from '@eventing/runtime';

/** imc-dispatcher's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  EVENTTYPE_REGISTRY_URL_SETTING,
  intSetting('queueCapacity', 'QUEUE_CAPACITY', 10_000, 'undelivered events held per subscription', {
    min: 1,
  }),
  ...dispatchSettings('subscription'),
  ...redeliverySettings(
    'first wait before an event whose dead-letter sink failed too is tried again (doubling)',
    'longest such wait',
  ),
  shutdownGraceSetting('queued events may still be delivered'),
  ...FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
] as const;

/** imc-dispatcher: InMemoryChannels at `/<namespace>/<channel>`, each Subscription's subscriber out. */
export const imcDispatcher = defineStoreService('imc-dispatcher', SETTINGS, (settings) => ({
  store: 'memory',
  resources: 'channels',
  // The queues live in this process: it makes them (nobody else could).
  backend: () =>
    new MemoryChannelBackend({
      capacityPerSubscription: settings.queueCapacity,
      nackDelayMs: settings.redeliveryDelayMs,
      maxNackDelayMs: settings.redeliveryMaxDelayMs,
    }),
  ingress: true,
  dispatch: {},
}));

if (require.main === module) imcDispatcher.main();
