import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { FieldError } from './errors';
import type { ValidationContext } from './kind';
import type { KindDefinition } from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import { parsePingSchedule } from './ping-schedule';
import {
  SINK_PROVIDED,
  setSourceSpecDefaults,
  sourceKind,
  sourcePrinterColumns,
  sourceSpecSchema,
  sourceStatusSchema,
  validateSourceSpec,
} from './source-duck';
import { validateShape } from './structural';

export const DEFAULT_PING_SCHEDULE = '* * * * *';
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

export const PingSourceSpecSchema = sourceSpecSchema(
  {
    schedule: Type.Optional(
      Type.String({
        description:
          'When to send an event, as a cron expression of five fields (minute, hour, day of month, month, day of week), e.g. "*/5 * * * *", or a descriptor such as @hourly or @daily. A CRON_TZ=<zone> prefix sets the time zone. Defaults to "* * * * *", every minute.',
      }),
    ),
    timezone: Type.Optional(
      Type.String({
        description: 'The IANA time zone the schedule is read in, e.g. Europe/Paris. Unset: UTC.',
      }),
    ),
    contentType: Type.Optional(
      Type.String({
        description:
          'Media type of the event data (the datacontenttype attribute), e.g. application/json; with application/json, data must be a JSON object. Unset: none.',
      }),
    ),
    data: Type.Optional(
      Type.String({
        description:
          'The body of every event sent, as text. Give data or dataBase64, not both. Unset: no body.',
      }),
    ),
    dataBase64: Type.Optional(
      Type.String({
        description:
          'The body of every event sent, base64-encoded, for binary data. Give data or dataBase64, not both.',
      }),
    ),
  },
  'The desired state of the PingSource: when to send, what, and where.',
);
export type PingSourceSpec = Static<typeof PingSourceSpecSchema>;

export const PingSourceStatusSchema = sourceStatusSchema(
  {},
  'The observed state of the PingSource, written by its controller: whether it is Ready and the URL it sends to.',
);
export type PingSourceStatus = Static<typeof PingSourceStatusSchema>;

export const PingSourceSchema = resourceSchema(
  PingSourceSpecSchema,
  PingSourceStatusSchema,
  `A PingSource sends an event of type ${PING_EVENT_TYPE} with a fixed body to its sink on a cron schedule.`,
);
export type PingSource = Static<typeof PingSourceSchema>;

export const PingSourceConditionSet = new ConditionSet('Ready', [
  'Deployed',
  'OIDCIdentityCreated',
  SINK_PROVIDED,
]);

/** Applies upstream's PingSource defaults (schedule `* * * * *`, sink ref namespace). Pure. */
export function setDefaultsPingSource(obj: PingSource): PingSource {
  const spec: PingSourceSpec =
    obj.spec.sink === undefined ? { ...obj.spec } : setSourceSpecDefaults(obj.spec, obj.metadata.namespace);
  if (!spec.schedule) spec.schedule = DEFAULT_PING_SCHEDULE;
  return { ...obj, spec };
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
  const schedule = parsePingSchedule(spec.schedule ?? DEFAULT_PING_SCHEDULE, spec.timezone);
  if (!schedule.ok) errs.push(schedule.error);
  errs.push(...validateSourceSpec(spec, ctx));
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
  return errs;
}

export const PingSourceKind: KindDefinition = sourceKind({
  group: 'sources.knative.dev',
  versions: ['v1', 'v1beta2'],
  kind: 'PingSource',
  plural: 'pingsources',
  singular: 'pingsource',
  eventTypes: [
    {
      type: PING_EVENT_TYPE,
      description: 'CloudEvent type for fixed payloads on a specified cron schedule',
    },
  ],
  deprecatedVersions: {
    v1beta2: 'sources.knative.dev/v1beta2 PingSource is deprecated; use sources.knative.dev/v1 PingSource',
  },
  schema: PingSourceSchema,
  setDefaults: setDefaultsPingSource,
  validate: validatePingSource,
  conditionSet: PingSourceConditionSet,
  conditionTypes: PingSourceConditionSet.types,
  printerColumns: sourcePrinterColumns(
    [{ name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' }],
    "'",
  ),
});
