import { MAX_BODY_BYTES_SETTING, brokerFilterService } from '@eventing/broker';
import { FRAMES_SETTINGS, LOG_LEVEL_SETTING, SERVICE_SETTINGS, defineService } from '@eventing/runtime';

/** broker-filter's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  ...FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
] as const;

/** broker-filter: `/triggers/<namespace>/<trigger>/<uid>` → filter → subscriber. */
export const brokerFilter = defineService({
  name: 'broker-filter',
  settings: SETTINGS,
  create: brokerFilterService,
});

if (require.main === module) brokerFilter.main();
