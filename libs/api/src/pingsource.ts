import { Type, type Static } from '@sinclair/typebox';
import { Cron } from 'croner';
import { ConditionSet, StatusBaseProperties } from './conditions';
import {
  SourceSpecProperties,
  SourceStatusProperties,
  setDestinationDefaults,
  validateCeOverrides,
  validateDestination,
} from './duck';
import { FieldError } from './errors';
import type { ValidationContext } from './features';
import { AGE_COLUMN, readyColumns, type KindDefinition } from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

export const DEFAULT_PING_SCHEDULE = '* * * * *';
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

export const PingSourceSpecSchema = Type.Object(
  {
    ...SourceSpecProperties,
    schedule: Type.Optional(Type.String()),
    timezone: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String()),
    data: Type.Optional(Type.String()),
    dataBase64: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type PingSourceSpec = Static<typeof PingSourceSpecSchema>;

export const PingSourceStatusSchema = Type.Object(
  { ...StatusBaseProperties, ...SourceStatusProperties },
  { additionalProperties: false },
);
export type PingSourceStatus = Static<typeof PingSourceStatusSchema>;

export const PingSourceSchema = resourceSchema(PingSourceSpecSchema, PingSourceStatusSchema);
export type PingSource = Static<typeof PingSourceSchema>;

export const PingSourceConditionSet = new ConditionSet('Ready', [
  'Deployed',
  'OIDCIdentityCreated',
  'SinkProvided',
]);

/** Applies upstream's PingSource defaults (schedule `* * * * *`, sink ref namespace). Pure. */
export function setDefaultsPingSource(obj: PingSource): PingSource {
  const spec: PingSourceSpec = { ...obj.spec };
  if (!spec.schedule) spec.schedule = DEFAULT_PING_SCHEDULE;
  if (spec.sink !== undefined) spec.sink = setDestinationDefaults(spec.sink, obj.metadata.namespace);
  return { ...obj, spec };
}

const DESCRIPTORS = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
]);
// One comma-separated part of a cron field: `*`, `?`, a value or a range, with an optional step.
// Names (JAN, MON) are accepted; croner's extensions (L, W, #) are not, as upstream's parser lacks them.
const CRON_PART = /^(\*|\?|(\d+|[A-Za-z]{3})(-(\d+|[A-Za-z]{3}))?)(\/\d+)?$/;

/** Checks an IANA time zone name. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a PingSource schedule: 5 fields, or 6 with leading seconds, or a descriptor
 * (`@hourly`...); `@every` is rejected. A `CRON_TZ=`/`TZ=` prefix is honoured.
 * Returns the problem (and which field it concerns) or undefined.
 */
export function checkPingSchedule(
  schedule: string,
  timezone?: string,
): { field: 'schedule' | 'timezone'; message: string } | undefined {
  let text = schedule.trim();
  const tzPrefix = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(text);
  if (tzPrefix !== null) {
    if (!isValidTimeZone(tzPrefix[1] as string))
      return { field: 'schedule', message: `provided bad location ${tzPrefix[1]}` };
    text = text.slice(tzPrefix[0].length);
  }
  if (timezone && !isValidTimeZone(timezone))
    return { field: 'timezone', message: `provided bad location ${timezone}` };
  if (text.includes('@every')) return { field: 'schedule', message: 'unsupported descriptor @every' };
  if (text.startsWith('@')) {
    return DESCRIPTORS.has(text)
      ? undefined
      : { field: 'schedule', message: `unrecognized descriptor: ${text}` };
  }
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    return { field: 'schedule', message: `expected 5 to 6 fields, found ${fields.length}: ${text}` };
  }
  for (const field of fields) {
    for (const part of field.split(',')) {
      if (!CRON_PART.test(part))
        return { field: 'schedule', message: `failed to parse "${part}" in "${text}"` };
    }
  }
  try {
    new Cron(text, { paused: true, timezone: timezone || undefined });
  } catch (e) {
    return { field: 'schedule', message: (e as Error).message };
  }
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard padded base64 strictly (line breaks ignored, as Go does); undefined when malformed. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

function jsonObjectProblem(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? undefined
      : 'must be a JSON object';
  } catch (e) {
    return (e as Error).message;
  }
}

/** Validates a PingSource: schedule, timezone, data/dataBase64, sink, ceOverrides. */
export function validatePingSource(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(PingSourceSchema, obj);
  if (shape.length > 0) return shape;
  const p = obj as PingSource;
  const errs = validateObjectMeta(p.metadata);
  const spec = p.spec;
  const schedule = checkPingSchedule(spec.schedule ?? DEFAULT_PING_SCHEDULE, spec.timezone);
  if (schedule !== undefined) {
    const value = schedule.field === 'timezone' ? spec.timezone : spec.schedule;
    errs.push(
      new FieldError(`spec.${schedule.field}`, `invalid value: ${String(value)}: ${schedule.message}`),
    );
  }
  errs.push(...validateDestination(spec.sink, 'spec.sink', { features: ctx.features }));
  const max = ctx.pingDataMaxSize ?? -1;
  const isJson = spec.contentType === 'application/json';
  if (spec.data && spec.dataBase64) {
    errs.push(new FieldError('spec.data', 'expected exactly one, got both: data, dataBase64'));
  } else if (spec.dataBase64) {
    if (max > -1 && spec.dataBase64.length > max) {
      errs.push(
        new FieldError(
          'spec.dataBase64',
          `invalid value: the dataBase64 length of ${spec.dataBase64.length} bytes exceeds limit set at ${max}`,
        ),
      );
    }
    const decoded = decodeBase64Strict(spec.dataBase64);
    if (decoded === undefined)
      errs.push(new FieldError('spec.dataBase64', 'invalid value: not valid standard base64'));
    else if (isJson) {
      const problem = jsonObjectProblem(decoded.toString('utf8'));
      if (problem !== undefined) errs.push(new FieldError('spec.dataBase64', `invalid value: ${problem}`));
    }
  } else if (spec.data) {
    if (max > -1 && Buffer.byteLength(spec.data) > max) {
      errs.push(
        new FieldError(
          'spec.data',
          `invalid value: the data length of ${Buffer.byteLength(spec.data)} bytes exceeds limit set at ${max}`,
        ),
      );
    }
    if (isJson) {
      const problem = jsonObjectProblem(spec.data);
      if (problem !== undefined) errs.push(new FieldError('spec.data', `invalid value: ${problem}`));
    }
  }
  if (spec.ceOverrides !== undefined) errs.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  return errs;
}

export const PingSourceKind: KindDefinition = {
  group: 'sources.knative.dev',
  versions: ['v1', 'v1beta2'],
  kind: 'PingSource',
  plural: 'pingsources',
  singular: 'pingsource',
  categories: ['all', 'knative', 'sources'],
  labels: { 'eventing.knative.dev/source': 'true', 'duck.knative.dev/source': 'true' },
  annotations: {
    'registry.knative.dev/eventTypes': JSON.stringify(
      [
        {
          type: PING_EVENT_TYPE,
          description: 'CloudEvent type for fixed payloads on a specified cron schedule',
        },
      ],
      null,
      2,
    ),
  },
  deprecatedVersions: {
    v1beta2: 'sources.knative.dev/v1beta2 PingSource is deprecated; use sources.knative.dev/v1 PingSource',
  },
  schema: PingSourceSchema,
  setDefaults: setDefaultsPingSource,
  validate: validatePingSource,
  conditionSet: PingSourceConditionSet,
  conditionTypes: PingSourceConditionSet.types,
  printerColumns: [
    { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    AGE_COLUMN,
    ...readyColumns("'"),
  ],
};
