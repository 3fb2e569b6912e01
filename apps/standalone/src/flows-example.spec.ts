import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// The examples/flows folder as its README section runs it: the example's functions script, then
// standalone on the folder; a Sequence and a Parallel end at the event display (CONFORMANCE 2.14).

const EXAMPLE = join(__dirname, '../../../examples/flows');
const FUNCTIONS = ['tax', 'shout', 'stamp', 'big-orders', 'small-orders'];

describe('the flows example', () => {
  let functions: ChildProcess;
  let functionsOutput = '';
  let lines: string[];
  let app: Awaited<ReturnType<typeof runStandalone>>;

  beforeAll(async () => {
    // Port 0: the script prints the one it got; the address book's 8081 is overridden below.
    functions = spawn(process.execPath, [join(EXAMPLE, 'functions.mjs'), '0'], { stdio: 'pipe' });
    functions.stdout?.on('data', (c: Buffer) => (functionsOutput += c.toString()));
    const base = await eventually(
      () => /flow functions on (http:\/\/127\.0\.0\.1:\d+)/.exec(functionsOutput)?.[1],
      10_000,
      'the functions script to listen',
    );
    lines = [];
    app = await runStandalone(
      optionsFrom([
        '--config',
        EXAMPLE,
        '--port',
        '0',
        '--no-watch',
        '--log-level',
        'error',
        ...FUNCTIONS.flatMap((f) => ['--service', `${f}.default=${base}/${f}`]),
      ]),
      (l) => lines.push(l),
    );
  }, 30_000);

  afterAll(async () => {
    await app?.service.close();
    functions?.kill();
  });

  const post = (path: string, id: string, data: object) =>
    fetch(`${app.service.url}${path}`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': id,
        'ce-source': '/my/shop',
        'ce-type': 'com.example.order.created',
        'content-type': 'application/json',
      },
      body: JSON.stringify(data),
    });
  const displayed = (sink: string, id: string) =>
    lines.filter((l) => l.startsWith(`☁  ${sink} `) && l.includes(`id: ${id}\n`));

  it('brings the Sequence, the Parallel and what they own to Ready with nothing reported invalid', () => {
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([]);
    expect(lines).toContain(
      `✓  Sequence default/order-pipeline Ready  ${app.service.url}/_channels/default/order-pipeline-kn-sequence-0`,
    );
    expect(lines).toContain(
      `✓  Parallel default/order-router Ready  ${app.service.url}/_channels/default/order-router-kn-parallel`,
    );
    expect(
      lines.filter((l) => /^✓ {2}Subscription default\/order-(pipeline|router)-kn-/.test(l)),
    ).toHaveLength(3 + 6);
  });

  it('the Sequence: an order goes through tax, shout and stamp, then the display prints it', async () => {
    const res = await post('/_channels/default/order-pipeline-kn-sequence-0', 'order-1', {
      customer: 'ada',
      amount: 250,
    });
    expect(res.status).toBe(202);
    const shown = await eventually(() => displayed('event-display', 'order-1')[0], 10_000, 'the display');
    expect(shown).toContain('"customer": "ADA"');
    expect(shown).toContain('"tax": 50');
    expect(shown).toContain('"stamped"');
  });

  it('the Parallel: a big order is taxed (global reply), a small one shouted, both stamped into the audit log', async () => {
    expect(
      (await post('/_channels/default/order-router-kn-parallel', 'big-1', { customer: 'bo', amount: 500 }))
        .status,
    ).toBe(202);
    expect(
      (await post('/_channels/default/order-router-kn-parallel', 'small-1', { customer: 'cy', amount: 5 }))
        .status,
    ).toBe(202);
    await eventually(
      () =>
        displayed('event-display', 'big-1').length === 1 &&
        displayed('event-display', 'small-1').length === 1 &&
        displayed('audit-log', 'big-1').length === 1 &&
        displayed('audit-log', 'small-1').length === 1,
      10_000,
      'both orders in the display and the audit log',
    );
    expect(displayed('event-display', 'big-1')[0]).toContain('"tax": 100');
    expect(displayed('event-display', 'big-1')[0]).toContain('"customer": "bo"');
    expect(displayed('event-display', 'small-1')[0]).toContain('"customer": "CY"');
    expect(displayed('event-display', 'small-1')[0]).not.toContain('"tax"');
    expect(displayed('audit-log', 'small-1')[0]).toContain('"stamped"');
  });
});
