import { ConfigError } from './env';
import {
  intSetting,
  listSetting,
  logLevelSetting,
  readSettings,
  settingsMarkdown,
  textSetting,
  withSetting,
} from './settings';

const TABLE = [
  intSetting('port', 'PORT', 8080, 'HTTP port', { max: 65535 }),
  intSetting('maxInFlight', 'MAX_IN_FLIGHT', 100, 'deliveries in flight', { min: 1 }),
  textSetting('receiverUrl', 'RECEIVER_URL', 'http://receiver', 'where replies go', {
    pattern: '^https?://[^/]+/?$',
    expected: 'http(s)://host[:port]',
  }),
  withSetting(textSetting('clientId', 'CLIENT_ID', '', 'client id'), { default: 'svc' }),
  listSetting('bootstrap', 'BOOTSTRAP', '`host:port[,host:port…]` of brokers'),
  logLevelSetting('logLevel', 'LOG_LEVEL', 'info', 'log level'),
] as const;

describe('settings tables', () => {
  it('reads every row: defaults for what is unset or empty, lists split and trimmed', () => {
    const s = readSettings(TABLE, { BOOTSTRAP: ' a:1, b:2 ,', MAX_IN_FLIGHT: '', LOG_LEVEL: 'warn' });
    expect(s).toEqual({
      port: 8080,
      maxInFlight: 100,
      receiverUrl: 'http://receiver',
      clientId: 'svc',
      bootstrap: ['a:1', 'b:2'],
      logLevel: 'warn',
    });
    // Typed by kind: a number, a list, a level.
    const port: number = s.port;
    const servers: string[] = s.bootstrap;
    expect([port, servers.length]).toEqual([8080, 2]);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT=70000: expected an integer from 0 to 65535'],
    [{ PORT: '1.5' }, 'PORT=1.5: expected an integer from 0 to 65535'],
    [{ MAX_IN_FLIGHT: '0' }, 'MAX_IN_FLIGHT=0: expected an integer from 1 to 9007199254740991'],
    [{ RECEIVER_URL: 'http://h/path' }, 'RECEIVER_URL=http://h/path: expected http(s)://host[:port]'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL=loud: expected debug, info, warn, error'],
  ])('names the variable and what it expects: %j', (env, message) => {
    expect(() => readSettings(TABLE, { BOOTSTRAP: 'a:1', ...env })).toThrow(new ConfigError(message));
  });

  it('names every problem at once, a required list among them', () => {
    expect(() => readSettings(TABLE, { BOOTSTRAP: ' , ', PORT: 'x' })).toThrow(
      new ConfigError(
        'PORT=x: expected an integer from 0 to 65535; BOOTSTRAP is required: host:port[,host:port…] of brokers',
      ),
    );
  });

  it('prints the table as README Markdown: variable, default (or required), meaning', () => {
    expect(settingsMarkdown(TABLE)).toBe(
      [
        '| variable | default | meaning |',
        '|---|---|---|',
        '| `PORT` | `8080` | HTTP port |',
        '| `MAX_IN_FLIGHT` | `100` | deliveries in flight |',
        '| `RECEIVER_URL` | `http://receiver` | where replies go |',
        '| `CLIENT_ID` | `svc` | client id |',
        '| `BOOTSTRAP` | required | `host:port[,host:port…]` of brokers |',
        '| `LOG_LEVEL` | `info` | log level |',
      ].join('\n'),
    );
  });
});
