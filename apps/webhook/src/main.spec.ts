import { HELP, settingsFrom } from './main';

describe('webhook flags', () => {
  it('--help is asked for; the help names every flag it parses', () => {
    expect(settingsFrom(['--help'], {})).toBe('help');
    for (const flag of [
      '--port',
      '--namespace',
      '--register',
      '--register-url',
      '--cert-dir',
      '--kubeconfig',
      '--secret',
    ])
      expect(HELP).toContain(flag);
  });

  it('defaults as in the cluster, environment second, flags first', () => {
    const inCluster = settingsFrom([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    expect(inCluster).toMatchObject({
      port: 8443,
      systemNamespace: 'knative-eventing',
      serviceName: 'eventing-webhook',
      secretName: 'eventing-webhook-certs',
      register: false,
      extraHosts: [],
      certValidityDays: 90,
      certRenewBeforeDays: 7,
    });
    expect(settingsFrom([], { KUBERNETES_SERVICE_HOST: 'x', SYSTEM_NAMESPACE: 'eventing' })).toMatchObject({
      systemNamespace: 'eventing',
    });
    expect(settingsFrom(['--namespace', 'mine'], { SYSTEM_NAMESPACE: 'eventing' })).toMatchObject({
      systemNamespace: 'mine',
    });
  });

  it('--register-url implies --register and puts its host into the certificate', () => {
    const s = settingsFrom(['--register-url', 'https://127.0.0.1:8443', '--port', '8443'], {});
    expect(s).toMatchObject({ register: true, registerUrl: 'https://127.0.0.1:8443', port: 8443 });
    expect(s !== 'help' && s.extraHosts).toEqual(['127.0.0.1', '127.0.0.1', 'localhost']);
  });

  it.each([
    [['--register-url', 'http://127.0.0.1:8443'], /https only/],
    [['--register-url', 'nope'], /not a URL/],
    [['--port', '70000'], /--port 70000: expected an integer from 0 to 65535/],
    [['--renew-before-days', '90'], /must be less than --cert-validity-days 90/],
    [['--bogus'], /Unknown option '--bogus'.*see --help/],
    [['--log-level', 'loud'], /--log-level=loud: expected debug, info, warn, error/],
  ])('%j is refused, naming the flag', (argv, message) => {
    expect(() => settingsFrom(argv, {})).toThrow(message);
  });
});
