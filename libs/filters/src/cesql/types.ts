import type { CloudEvent } from '@eventing/cloudevents';

/** A CESQL value: String, Integer (a 32-bit signed integer held in a number) or Boolean (spec 3.1). */
export type CesqlValue = string | number | boolean;

/** The error kinds of spec 3.3 (GenericError is never raised by this engine). */
export type CesqlErrorKind =
  'parse' | 'math' | 'cast' | 'missingAttribute' | 'missingFunction' | 'functionEvaluation';

/** One parse or evaluation error; `position` is the 0-based character offset in the expression. */
export interface CesqlError {
  kind: CesqlErrorKind;
  message: string;
  position?: number;
}

/** A CESQL expression parsed and compiled once, evaluated per event. */
export interface CesqlExpression {
  readonly source: string;
  /** Full v1 evaluation: the value (zero value where an error occurred) and every error raised. */
  evaluate(event: CloudEvent): { value: CesqlValue; errors: CesqlError[] };
  /** Routing: true only if the result is boolean true (cast per spec) and no error was raised (Knative: an error ⇒ no match). */
  matches(event: CloudEvent): boolean;
}

/** The outcome of `parseCesql`: a compiled expression, or the parse errors. */
export type CesqlParseResult =
  { ok: true; expression: CesqlExpression } | { ok: false; errors: CesqlError[] };
