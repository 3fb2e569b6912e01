import fc from 'fast-check';
import { Deque } from './deque';

describe('Deque', () => {
  it('behaves like an array used as a double-ended queue', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), value: fc.integer() }),
      fc.record({ kind: fc.constant('unshift' as const), value: fc.integer() }),
      fc.record({ kind: fc.constant('shift' as const) }),
      fc.record({ kind: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const deque = new Deque<number>(2);
        const model: number[] = [];
        for (const o of ops) {
          if (o.kind === 'push') {
            deque.push(o.value);
            model.push(o.value);
          } else if (o.kind === 'unshift') {
            deque.unshift(o.value);
            model.unshift(o.value);
          } else if (o.kind === 'shift') {
            expect(deque.shift()).toBe(model.shift());
          } else {
            expect(deque.clear()).toBe(model.length);
            model.length = 0;
          }
          expect(deque.length).toBe(model.length);
          expect(deque.peek()).toBe(model[0]);
        }
      }),
    );
  });
});
