// Renders the dashboards (Grafana JSON and ConfigMaps) and the alerting rules (PrometheusRule and a
// plain rule file) that write.ts puts into charts/eventing/dashboards/.
import { alertRules } from './alerts';
import { DASHBOARDS } from './dashboards';
import { dashboardConfigMap, dashboardText, prometheusRuleText, ruleFileText } from './render';

/** Every generated file, by its path under the output folder, as rendered (before formatting). */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of DASHBOARDS) {
    files.set(`grafana/${d.uid}.json`, dashboardText(d));
    files.set(`configmaps/${d.uid}.yaml`, dashboardConfigMap(d));
  }
  const alerts = alertRules();
  files.set('alerts/prometheusrule.yaml', prometheusRuleText(alerts));
  files.set('alerts/rules.yml', ruleFileText(alerts));
  return files;
}

/** Where the generated files live in the repository. */
export const OUTPUT_DIR = ['charts', 'eventing', 'dashboards'];
