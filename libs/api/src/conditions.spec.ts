import { ConditionSet, type Condition } from './conditions';

function clock() {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return () => new Date((t += 1000));
}

const get = (conds: Condition[], type: string) => conds.find((c) => c.type === type);

describe('ConditionSet (living condition set, 1.2 Conditions / 8.9)', () => {
  it('initialize adds Ready and every dependent as Unknown, sorted by type', () => {
    const set = new ConditionSet('Ready', ['B', 'A'], clock());
    const conds = set.initialize();
    expect(conds.map((c) => [c.type, c.status])).toEqual([
      ['A', 'Unknown'],
      ['B', 'Unknown'],
      ['Ready', 'Unknown'],
    ]);
    expect(set.isReady(conds)).toBe(false);
  });

  it('initialize keeps existing conditions', () => {
    const set = new ConditionSet('Ready', ['A'], clock());
    const conds = set.initialize([{ type: 'A', status: 'True', lastTransitionTime: 'x' }]);
    expect(get(conds, 'A')).toEqual({ type: 'A', status: 'True', lastTransitionTime: 'x' });
    expect(set.isReady(conds)).toBe(true);
  });

  it('Ready is True only when all dependents are True', () => {
    const set = new ConditionSet('Ready', ['A', 'B'], clock());
    let conds = set.initialize();
    conds = set.markTrue(conds, 'A');
    expect(set.isReady(conds)).toBe(false);
    conds = set.markTrue(conds, 'B');
    expect(set.isReady(conds)).toBe(true);
  });

  it('a False dependent makes Ready False with its reason and message', () => {
    const set = new ConditionSet('Ready', ['A', 'B'], clock());
    let conds = set.markTrue(set.initialize(), 'A');
    conds = set.markFalse(conds, 'B', 'BrokerDoesNotExist', 'Broker "default" does not exist');
    expect(get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'BrokerDoesNotExist',
      message: 'Broker "default" does not exist',
    });
  });

  it('markUnknown leaves Ready False while another dependent is False', () => {
    const set = new ConditionSet('Ready', ['A', 'B'], clock());
    let conds = set.markFalse(set.initialize(), 'A', 'Bad', 'a is bad');
    conds = set.markUnknown(conds, 'B', 'Pending', 'b pending');
    expect(get(conds, 'Ready')).toMatchObject({ status: 'False', reason: 'Bad' });
    conds = set.markTrue(conds, 'A');
    expect(get(conds, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'Pending', message: 'b pending' });
  });

  it('lastTransitionTime changes only when the status changes', () => {
    const set = new ConditionSet('Ready', ['A'], clock());
    const c1 = set.markFalse(set.initialize(), 'A', 'R1', 'm1');
    const t1 = get(c1, 'A')?.lastTransitionTime;
    const c2 = set.markFalse(c1, 'A', 'R2', 'm2');
    expect(get(c2, 'A')).toMatchObject({ reason: 'R2', message: 'm2', lastTransitionTime: t1 });
    const c3 = set.markTrue(c2, 'A');
    expect(get(c3, 'A')?.lastTransitionTime).not.toBe(t1);
    expect(get(c3, 'A')?.reason).toBeUndefined();
  });

  it('returns new arrays and never mutates its input', () => {
    const set = new ConditionSet('Ready', ['A'], clock());
    const before = set.initialize();
    const snapshot = JSON.stringify(before);
    const after = set.markTrue(before, 'A');
    expect(after).not.toBe(before);
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('conditions outside the set are informational and do not affect Ready', () => {
    const set = new ConditionSet('Ready', ['A'], clock());
    let conds = set.markTrue(set.initialize(), 'A');
    conds = set.markFalse(conds, 'Extra', 'Meh', 'not a dependent');
    expect(get(conds, 'Extra')?.severity).toBe('Info');
    expect(set.isReady(conds)).toBe(true);
  });
});
