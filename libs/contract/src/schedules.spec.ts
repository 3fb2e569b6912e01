import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSchedules, watchSchedulesFile, type SchedulesDocument } from './index';

const tick = { namespace: 'demo', name: 'p', schedule: '* * * * *', sinkUri: 'http://x/' };

describe('schedules document (eventing-contract-ping-source, schedules.json)', () => {
  it.each([
    [null, 'schedules: not a JSON object'],
    [{ schedules: [] }, 'schedules.generation: must be a number'],
    [{ generation: 1 }, 'schedules.schedules: must be an array'],
    [
      { generation: 1, schedules: [{ ...tick, sinkUri: '' }] },
      'schedules.schedules[0].sinkUri: must be a non-empty string',
    ],
    [
      { generation: 1, schedules: [{ ...tick, timezone: 3 }] },
      'schedules.schedules[0].timezone: must be a string',
    ],
    [
      { generation: 1, schedules: [{ ...tick, ceOverrides: { extensions: 'x' } }] },
      'schedules.schedules[0].ceOverrides.extensions: must be an object',
    ],
  ])('refuses %j naming the field', (doc, message) => {
    expect(() => checkSchedules(doc)).toThrow(message);
  });

  it('is followed like a mounted ConfigMap: each new generation, a bad one keeping the last good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schedules-'));
    const path = join(dir, 'schedules.json');
    const write = (text: string) => {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    };
    write(JSON.stringify({ generation: 1, schedules: [tick] }));
    const seen: SchedulesDocument[] = [];
    const errors: string[] = [];
    const watcher = watchSchedulesFile(
      path,
      (d) => seen.push(d),
      (e) => errors.push(e.message),
    );
    try {
      expect(seen.map((d) => d.generation)).toEqual([1]);
      write('{');
      await waitFor(() => errors.length > 0);
      expect(errors[0]).toContain('not valid JSON');
      write(JSON.stringify({ generation: 2, schedules: [] }));
      await waitFor(() => seen.length > 1);
      expect(seen.map((d) => d.generation)).toEqual([1, 2]);
    } finally {
      watcher.close();
    }
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const until = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
