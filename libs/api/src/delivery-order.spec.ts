import {
  DEFAULT_TRIGGER_DELIVERY_ORDER,
  KAFKA_CHANNEL_DELIVERY_ORDER,
  KAFKA_DELIVERY_ORDER_ANNOTATION,
  deliveryOrderOf,
  parseDeliveryOrder,
  validateDeliveryOrderAnnotation,
} from './delivery-order';
import { setDefaultsTrigger, validateTrigger, type Trigger } from './trigger';

const PATH = `metadata.annotations[${KAFKA_DELIVERY_ORDER_ANNOTATION}]`;
const meta = (value?: string) => ({
  name: 't',
  namespace: 'ns',
  ...(value === undefined ? {} : { annotations: { [KAFKA_DELIVERY_ORDER_ANNOTATION]: value } }),
});

describe('kafka.eventing.knative.dev/delivery.order (EKB reconciler/trigger)', () => {
  it('upstream defaults: Triggers unordered, KafkaChannel subscriptions always ordered', () => {
    expect(KAFKA_DELIVERY_ORDER_ANNOTATION).toBe('kafka.eventing.knative.dev/delivery.order');
    expect(DEFAULT_TRIGGER_DELIVERY_ORDER).toBe('unordered');
    expect(KAFKA_CHANNEL_DELIVERY_ORDER).toBe('ordered');
  });

  it.each<[string | undefined, string, boolean]>([
    [undefined, 'unordered', true],
    ['ordered', 'ordered', true],
    ['unordered', 'unordered', true],
    ['Ordered', 'ordered', true],
    ['UNORDERED', 'unordered', true],
    ['', 'unordered', false],
    ['sequential', 'unordered', false],
    [' ordered', 'unordered', false],
  ])('%j: reads as %s, valid %s', (value, order, valid) => {
    expect(deliveryOrderOf(meta(value))).toBe(order);
    expect(validateDeliveryOrderAnnotation(meta(value)).map((e) => e.path)).toEqual(valid ? [] : [PATH]);
    if (value !== undefined) expect(parseDeliveryOrder(value) !== undefined).toBe(valid);
  });

  it('the fallback is the caller’s', () => {
    expect(deliveryOrderOf(meta(), 'ordered')).toBe('ordered');
    expect(deliveryOrderOf(meta('bogus'), 'ordered')).toBe('ordered');
  });

  it('a Trigger with an invalid value is refused at that annotation; valid values pass', () => {
    const trigger = (value?: string): Trigger =>
      setDefaultsTrigger({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: meta(value),
        spec: { broker: 'kafka', subscriber: { uri: 'http://s.example/' } },
      });
    expect(validateTrigger(trigger('ordered'))).toEqual([]);
    expect(validateTrigger(trigger('Unordered'))).toEqual([]);
    expect(validateTrigger(trigger('fifo')).map(String)).toEqual([
      `${PATH}: invalid value: fifo: must be "ordered" or "unordered"`,
    ]);
  });
});
