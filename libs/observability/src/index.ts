export * from './catalogue';
export * from './factory';
export * from './metrics';
export * from './control-plane-metrics';
export * from './source-metrics';
export * from './metrics.controller';
export { FOLDED_LABEL_VALUE } from './bounded-series';
export {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  CounterChild,
  GaugeChild,
  HistogramChild,
  LazyChild,
} from './families';
export * from './tracing-hooks';
export * from './tracing';
