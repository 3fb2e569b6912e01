import { runService } from '@eventing/runtime';
import { settingsFromEnv, startAdapter } from './adapter-service';

// The ApiServerSource receive adapter: one per ApiServerSource, run by its Deployment with K_SINK,
// K_SOURCE_CONFIG, NAMESPACE and NAME set by the controller (see libs/reconciler/src/sources).
if (require.main === module)
  runService('apiserver-source-adapter', () => startAdapter(settingsFromEnv(process.env)));
