import { AdmissionConfigStore, parsePingDefaults } from './admission-config';

describe('admission ConfigMaps', () => {
  it('reads config-ping-defaults as upstream: data-max-size over the legacy dataMaxSize, -1 unlimited', () => {
    expect(parsePingDefaults({})).toEqual({ dataMaxSize: -1, problems: [] });
    expect(parsePingDefaults({ dataMaxSize: '10', 'data-max-size': '20' })).toEqual({
      dataMaxSize: 20,
      problems: [],
    });
    expect(parsePingDefaults({ 'data-max-size': 'big' }).problems).toEqual([
      "data.data-max-size: 'big' is not an integer (bytes; -1 for no limit)",
    ]);
  });

  it('builds one snapshot per change; a bad ConfigMap keeps the last good value, a deleted one the shipped value', () => {
    const store = new AdmissionConfigStore();
    const shipped = store.current();
    expect(store.set('config-features', { 'cross-namespace-event-links': 'enabled' })).toEqual([]);
    const withFlag = store.current();
    expect(withFlag).not.toBe(shipped);
    expect(withFlag.validation.features).toEqual({ 'cross-namespace-event-links': true });
    expect(withFlag.defaults.features).toEqual({ 'cross-namespace-event-links': true });

    expect(
      store.set('default-ch-webhook', {
        'default-ch-config':
          'clusterDefault:\n  apiVersion: messaging.knative.dev/v1\n  kind: KafkaChannel\n',
      }),
    ).toEqual([]);
    expect(store.current().defaults.channelDefaults?.clusterDefault?.kind).toBe('KafkaChannel');
    expect(store.set('default-ch-webhook', { 'default-ch-config': 'clusterDefault:\n  kind: X\n' })).toEqual([
      'data.default-ch-config.clusterDefault.apiVersion: missing field(s)',
    ]);
    expect(store.current().defaults.channelDefaults?.clusterDefault?.kind).toBe('KafkaChannel');
    store.set('default-ch-webhook', undefined);
    expect(store.current().defaults.channelDefaults).toBeUndefined();

    expect(store.set('config-ping-defaults', { 'data-max-size': '100' })).toEqual([]);
    expect(store.current().validation.pingDataMaxSize).toBe(100);
    expect(Object.isFrozen(store.current())).toBe(true);
  });
});
