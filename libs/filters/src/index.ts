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
export type {
  CesqlError,
  CesqlErrorKind,
  CesqlExpression,
  CesqlParseResult,
  CesqlValue,
} from './cesql/types';
export { cesqlSyntaxError, parseCesql } from './cesql/parse';
export { cesqlIndexKeys } from './cesql/index-keys';
