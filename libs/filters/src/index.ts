export type {
  CesqlCompiler,
  CompileOptions,
  CompiledFilter,
  SubscriptionsApiFilter,
  TriggerAttributesFilter,
  TriggerIndexKeys,
} from './trigger/types';
export { compileTriggerFilter } from './trigger/compile';
export { triggerIndexKeys } from './trigger/index-keys';
export { CONTEXT_ATTRIBUTES, attributeText } from './trigger/attributes';
