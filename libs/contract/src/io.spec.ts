import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkContract, readContractFile, watchContractFile } from './io';
import { emptyContract, type Contract } from './contract';

const trigger = {
  uid: 'u',
  namespace: 'ns',
  name: 't',
  broker: 'b',
  subscriberUri: 'http://x/',
  policy: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0 },
  format: 'binary',
};

describe('contract documents', () => {
  it('accepts a well-formed contract', () => {
    const doc = {
      ...emptyContract(),
      generation: 3,
      brokers: [{ uid: 'a', namespace: 'ns', name: 'b' }],
      triggers: [trigger],
    };
    expect(checkContract(doc).generation).toBe(3);
  });

  it.each([
    [null, 'contract: not a JSON object'],
    [{ version: 2, generation: 1, brokers: [], triggers: [] }, 'contract.version: expected 1, got 2'],
    [{ version: 1, brokers: [], triggers: [] }, 'contract.generation: must be a number'],
    [{ version: 1, generation: 1, brokers: {}, triggers: [] }, 'contract.brokers: must be an array'],
    [
      { version: 1, generation: 1, brokers: [{ uid: 'a', namespace: 'ns' }], triggers: [] },
      'contract.brokers[0].name: must be a non-empty string',
    ],
    [
      { version: 1, generation: 1, brokers: [], triggers: [{ ...trigger, subscriberUri: '' }] },
      'contract.triggers[0].subscriberUri: must be a non-empty string',
    ],
    [
      { version: 1, generation: 1, brokers: [], triggers: [{ ...trigger, policy: undefined }] },
      'contract.triggers[0].policy: must hold retry',
    ],
  ])('rejects %j naming the field', (doc, message) => {
    expect(() => checkContract(doc)).toThrow(message);
  });

  describe('files', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'contract-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reports unreadable and invalid JSON files with their path', () => {
      expect(() => readContractFile(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read/);
      writeFileSync(join(dir, 'bad.json'), '{');
      expect(() => readContractFile(join(dir, 'bad.json'))).toThrow(/bad\.json: not valid JSON/);
    });

    it('delivers each new generation, keeps the last good one on a bad write', async () => {
      const path = join(dir, 'contract.json');
      const write = (c: unknown) => {
        writeFileSync(path + '.tmp', typeof c === 'string' ? c : JSON.stringify(c));
        renameSync(path + '.tmp', path);
      };
      write({ ...emptyContract(), generation: 1 });
      const seen: Contract[] = [];
      const errors: Error[] = [];
      const watcher = watchContractFile(
        path,
        (c) => seen.push(c),
        (e) => errors.push(e),
      );
      try {
        expect(seen.map((c) => c.generation)).toEqual([1]);
        write('not json');
        await waitUntil(() => errors.length > 0);
        write({ ...emptyContract(), generation: 2 });
        await waitUntil(() => seen.length === 2);
        expect(seen.map((c) => c.generation)).toEqual([1, 2]);
      } finally {
        watcher.close();
      }
    });
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
}
