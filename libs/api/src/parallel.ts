import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { described } from './describe';
import {
  AddressSchema,
  DeliverySpecSchema,
  DestinationSchema,
  setDestinationDefaults,
  validateDeliverySpec,
  validateDestination,
  type DuckContext,
} from './duck';
import { FieldError, indexPath, joinPath } from './errors';
import type { ValidationContext } from './kind';
import type { DefaultsContext, KindDefinition } from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import {
  FLOW_PRINTER_COLUMNS,
  FLOWS_GROUP,
  FlowChannelStatusSchema,
  FlowChannelTemplateSchema,
  FlowStatusProperties,
  FlowSubscriptionStatusSchema,
  defaultFlowChannelTemplate,
  defaultOptionalDestination,
  validateFlowChannelTemplate,
  validateOptionalDestination,
} from './sequence';
import { validateShape } from './structural';

/** One branch of a Parallel: an optional filter, the subscriber, and where its reply goes. */
export const ParallelBranchSchema = Type.Object(
  {
    filter: Type.Optional(
      described(
        DestinationSchema,
        'Decides whether the branch gets an event: it is called with every event, and only the events it replies with (2xx and a CloudEvent) go on to subscriber. Left out, the branch gets every event.',
      ),
    ),
    subscriber: Type.Optional(
      described(
        DestinationSchema,
        'Where the events that passed the filter go; its replies go to reply. Required.',
      ),
    ),
    reply: Type.Optional(
      described(
        DestinationSchema,
        "Where the subscriber's replies go. Left out, the reply of the Parallel is used; without either, the replies are dropped.",
      ),
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink of the calls to subscriber; it becomes the delivery of the branch's subscriber Subscription.",
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'One branch: an optional filter, a subscriber, and where its replies go.',
  },
);
export type ParallelBranch = Static<typeof ParallelBranchSchema>;

export const ParallelSpecSchema = Type.Object(
  {
    branches: Type.Optional(
      Type.Array(ParallelBranchSchema, {
        description:
          'The branches every event sent to the Parallel is offered to, each on its own: a filter and a subscriber, whose reply goes to the branch reply or the Parallel reply. At least one.',
      }),
    ),
    channelTemplate: Type.Optional(FlowChannelTemplateSchema),
    reply: Type.Optional(
      described(
        DestinationSchema,
        'Where the replies of the subscribers of branches without a reply of their own go. Left out, those replies are dropped.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the Parallel: its branches, the kind of channel it uses, and where replies go.',
  },
);
export type ParallelSpec = Static<typeof ParallelSpecSchema>;

/** The Subscriptions and channel of one branch. */
export const ParallelBranchStatusSchema = Type.Object(
  {
    filterSubscriptionStatus: described(
      FlowSubscriptionStatusSchema,
      "The Subscription on the Parallel's channel that calls the filter (or forwards every event) into the branch channel.",
    ),
    filterChannelStatus: described(
      FlowChannelStatusSchema,
      'The channel of the branch, which receives the events that passed the filter.',
    ),
    subscriberSubscriptionStatus: described(
      FlowSubscriptionStatusSchema,
      'The Subscription on the branch channel that calls the subscriber and sends its reply on.',
    ),
  },
  {
    additionalProperties: false,
    description: 'The channel and Subscriptions of one branch, with their readiness.',
  },
);
export type ParallelBranchStatus = Static<typeof ParallelBranchStatusSchema>;

export const ParallelStatusSchema = Type.Object(
  {
    ...FlowStatusProperties,
    ingressChannelStatus: Type.Optional(
      described(FlowChannelStatusSchema, 'The channel that receives the events sent to the Parallel.'),
    ),
    branchStatuses: Type.Optional(
      Type.Array(ParallelBranchStatusSchema, {
        description: 'The Subscriptions and channel of each branch, in the order of spec.branches.',
      }),
    ),
    address: Type.Optional(
      described(AddressSchema, 'Where the Parallel receives events: the address of its ingress channel.'),
    ),
    addresses: Type.Optional(
      Type.Array(AddressSchema, {
        description: 'Every address the Parallel receives events on; address is the default one.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Parallel, written by its controller: whether it is Ready, its address, and the channels and Subscriptions it created.',
  },
);
export type ParallelStatus = Static<typeof ParallelStatusSchema>;

export const ParallelSchema = resourceSchema(
  Type.Optional(ParallelSpecSchema),
  ParallelStatusSchema,
  "A Parallel offers each event it receives to every branch: a branch's filter decides whether its subscriber gets the event, and the subscriber's reply goes to the branch reply or the Parallel's. It is made of channels and Subscriptions.",
);
export type Parallel = Static<typeof ParallelSchema>;

/** Condition set of a Parallel (upstream's): Ready when its channels, subscriptions and address are. */
export const ParallelConditionSet = new ConditionSet('Ready', [
  'ChannelsReady',
  'SubscriptionsReady',
  'Addressable',
  'EventPoliciesReady',
]);

/**
 * Applies upstream's Parallel defaults: the channel template from `default-ch-webhook` when absent,
 * and the namespace of the refs of every branch's filter, subscriber and reply and of the reply. Pure.
 */
export function setDefaultsParallel(obj: Parallel, ctx: DefaultsContext = {}): Parallel {
  const namespace = obj.metadata.namespace;
  const spec: ParallelSpec = { ...(obj.spec ?? {}) };
  if (spec.channelTemplate === undefined) {
    const template = defaultFlowChannelTemplate(namespace, ctx);
    if (template !== undefined) spec.channelTemplate = template;
  }
  if (spec.branches !== undefined)
    spec.branches = spec.branches.map((branch) => {
      const out: ParallelBranch = {
        ...branch,
        subscriber: defaultOptionalDestination(branch.subscriber, namespace),
      };
      if (branch.filter !== undefined) out.filter = setDestinationDefaults(branch.filter, namespace);
      if (branch.reply !== undefined) out.reply = setDestinationDefaults(branch.reply, namespace);
      return out;
    });
  if (spec.reply !== undefined) spec.reply = setDestinationDefaults(spec.reply, namespace);
  return { ...obj, spec };
}

/**
 * Validates a Parallel (upstream's rules): at least one branch, each with a valid subscriber and a
 * valid filter and reply when given, a channel template with apiVersion and kind, a valid reply.
 * A branch's delivery is checked too (upstream leaves that to the Subscription it becomes).
 */
export function validateParallel(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(ParallelSchema, obj);
  if (shape.length > 0) return shape;
  const p = obj as Parallel;
  const errs = validateObjectMeta(p.metadata);
  const spec = p.spec ?? {};
  const duck: DuckContext = { features: ctx.features };
  const branches = spec.branches ?? [];
  if (branches.length === 0)
    errs.push(new FieldError('spec.branches', 'missing field(s): a Parallel needs at least one branch'));
  branches.forEach((branch, i) => {
    const at = indexPath('spec.branches', i);
    errs.push(...validateOptionalDestination(branch.filter, joinPath(at, 'filter'), duck));
    errs.push(...validateDestination(branch.subscriber ?? {}, joinPath(at, 'subscriber'), duck));
    errs.push(...validateOptionalDestination(branch.reply, joinPath(at, 'reply'), duck));
    if (branch.delivery !== undefined)
      errs.push(...validateDeliverySpec(branch.delivery, joinPath(at, 'delivery'), duck));
  });
  errs.push(...validateFlowChannelTemplate(spec.channelTemplate, 'spec.channelTemplate'));
  errs.push(...validateOptionalDestination(spec.reply, 'spec.reply', duck));
  return errs;
}

export const ParallelKind: KindDefinition = {
  group: FLOWS_GROUP,
  versions: ['v1'],
  kind: 'Parallel',
  plural: 'parallels',
  singular: 'parallel',
  categories: ['all', 'knative', 'flows'],
  labels: { 'duck.knative.dev/addressable': 'true' },
  schema: ParallelSchema,
  setDefaults: setDefaultsParallel,
  validate: validateParallel,
  conditionSet: ParallelConditionSet,
  conditionTypes: ParallelConditionSet.types,
  printerColumns: [...FLOW_PRINTER_COLUMNS],
};
