export * from './metrics';
export * from './metrics.controller';
export { FOLDED_LABEL_VALUE } from './bounded-series';
