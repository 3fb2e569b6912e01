import {
  EVENTTYPE_REGISTRY_URL_SETTING,
  MAX_BODY_BYTES_SETTING,
  MAX_TTL_SETTING,
  brokerIngressService,
} from '@eventing/broker';
import {
  FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
  SERVICE_SETTINGS,
  defineService,
  intSetting,
} from '@eventing/runtime';

/** broker-ingress's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  MAX_TTL_SETTING,
  intSetting(
    'channelTimeoutMs',
    'CHANNEL_TIMEOUT_MS',
    30_000,
    "how long a POST to the broker's channel may take",
    {
      min: 1,
    },
  ),
  EVENTTYPE_REGISTRY_URL_SETTING,
  ...FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
] as const;

/** broker-ingress: `/<namespace>/<broker>` → the broker's channel. */
export const brokerIngress = defineService({
  name: 'broker-ingress',
  settings: SETTINGS,
  create: brokerIngressService,
});

if (require.main === module) brokerIngress.main();
