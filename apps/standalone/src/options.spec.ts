import { USAGE, UsageError, optionsFrom, parseOptions, standaloneTracing } from './options';

describe('standalone options: --headers-timeout and --request-timeout', () => {
  it('default to 10 s and 30 s', () => {
    expect(parseOptions([])).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  });

  it.each([
    [['--headers-timeout', '2500'], { headersTimeoutMs: 2_500, requestTimeoutMs: 30_000 }],
    [['--request-timeout=120000'], { headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 }],
    [
      ['--headers-timeout', '5000', '--request-timeout', '5000'],
      { headersTimeoutMs: 5_000, requestTimeoutMs: 5_000 },
    ],
  ])('%j → %j', (argv, expected) => {
    expect(parseOptions(argv)).toMatchObject(expected);
  });

  it.each([
    [['--headers-timeout', '0'], '--headers-timeout 0: expected an integer from 1 to 3600000'],
    [['--headers-timeout', '1.5'], '--headers-timeout 1.5: expected an integer from 1 to 3600000'],
    [['--request-timeout', '10s'], '--request-timeout 10s: expected an integer from 1 to 3600000'],
    [['--request-timeout', '3600001'], '--request-timeout 3600001: expected an integer from 1 to 3600000'],
    [
      ['--headers-timeout', '40000'],
      '--headers-timeout 40000: must not be more than --request-timeout (30000); the headers are part of the request',
    ],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(new UsageError(message));
  });

  it('are described in the usage', () => {
    expect(USAGE).toMatch(/--headers-timeout MS {4}time a client has to send a request's headers/);
    expect(USAGE).toMatch(/--request-timeout MS {4}time a client has to send a whole request/);
  });
});

describe('standalone options: --otlp-endpoint and the OTEL_* variables', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_SAMPLER_ARG: '0.5' };

  it('takes the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT unless --otlp-endpoint is given', () => {
    expect(standaloneTracing(optionsFrom([]), env)).toMatchObject({
      endpoint: 'http://collector:4318',
      serviceName: 'standalone',
      sampleRatio: 0.5,
    });
    expect(standaloneTracing(optionsFrom(['--otlp-endpoint', 'http://other:4318']), env)).toMatchObject({
      endpoint: 'http://other:4318',
      sampleRatio: 0.5,
    });
    // An empty one turns tracing off whatever the environment says.
    expect(standaloneTracing(optionsFrom(['--otlp-endpoint=']), env)).toMatchObject({ endpoint: '' });
    expect(standaloneTracing(optionsFrom([]), {})).toMatchObject({ endpoint: '' });
    expect(standaloneTracing(optionsFrom([]), { OTEL_SERVICE_NAME: 'edge' })).toMatchObject({
      serviceName: 'edge',
    });
  });

  it('refuses an endpoint that is not a URL, and names a bad variable', () => {
    expect(() => parseOptions(['--otlp-endpoint', 'collector:4318'])).toThrow(
      new UsageError('--otlp-endpoint collector:4318: expected http://host:port or https://host:port'),
    );
    expect(() => standaloneTracing(optionsFrom([]), { OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
  });

  it('is described in the usage', () => {
    expect(USAGE).toMatch(/--otlp-endpoint URL {5}export OpenTelemetry spans/);
  });
});
