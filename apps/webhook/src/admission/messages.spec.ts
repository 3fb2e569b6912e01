import { FieldError } from '@eventing/api';
import { formatUpstreamStyle } from './messages';

describe('formatUpstreamStyle', () => {
  it.each([
    [[new FieldError('spec.broker', 'missing field(s)')], 'missing field(s): spec.broker'],
    [
      [
        new FieldError('spec.subscriber', 'missing field(s)'),
        new FieldError('spec.filter.attributes[X]', 'invalid key name "X"'),
        new FieldError('spec.broker', 'missing field(s)'),
      ],
      'invalid key name "X": spec.filter.attributes[X]\nmissing field(s): spec.broker, spec.subscriber',
    ],
    [
      [new FieldError('spec.broker', 'immutable field changed (-old +new): -default +other')],
      'immutable field changed (-old +new): spec.broker\n-default +other',
    ],
    [[new FieldError('', 'the new object may not be nil')], 'the new object may not be nil'],
  ])('%j → %j', (errors, text) => {
    expect(formatUpstreamStyle(errors)).toBe(text);
  });
});
