// The trigger mix and the events of the filters benchmark, shared by the in-process part (A) and
// the end-to-end part (B). Everything is deterministic: the triggers an event matches are known by
// construction, so both parts check the broker's answer against this file rather than against the
// filter code under test.
//
// Triggers come in groups of ten (group g owns the event type `com.example.g<g>.order.created`);
// trigger i is role i % 10 of group ⌊i / 10⌋. An event of group g carries every attribute that its
// group's ten filters ask for, so it matches exactly the triggers of its group: 10 for N ≥ 10, N below.
// Six roles pin the exact type (legacy `filter.attributes` or `filters[].exact`), two are `prefix` on
// the type and two are CESQL.

/** One role per position in a group of ten: [kind, description, (g, names) => { filter?, filters? }]. */
const ROLES = [
  ['exact', 'filter.attributes type', (g, n) => ({ filter: { attributes: { type: n.type } } })],
  [
    'exact',
    'filter.attributes type+source',
    (g, n) => ({ filter: { attributes: { type: n.type, source: n.source } } }),
  ],
  ['exact', 'filters exact type', (g, n) => ({ filters: [{ exact: { type: n.type } }] })],
  [
    'exact',
    'filters exact type, suffix source',
    (g, n) => ({ filters: [{ exact: { type: n.type } }, { suffix: { source: '/eu' } }] }),
  ],
  [
    'exact',
    'filters exact type+tenant',
    (g, n) => ({ filters: [{ exact: { type: n.type, tenant: n.tenant } }] }),
  ],
  [
    'exact',
    'filters exact type, not subject',
    (g, n) => ({ filters: [{ exact: { type: n.type } }, { not: { exact: { subject: 'cancelled' } } }] }),
  ],
  [
    'prefix',
    'filters prefix type (group)',
    (g, n) => ({ filters: [{ prefix: { type: `com.example.g${g}.` } }] }),
  ],
  [
    'prefix',
    'filters prefix type (group.order)',
    (g, n) => ({ filters: [{ prefix: { type: `com.example.g${g}.order.` } }] }),
  ],
  [
    'cesql',
    'cesql type = … AND source LIKE …',
    (g, n) => ({ filters: [{ cesql: `type = '${n.type}' AND source LIKE '/orders/%'` }] }),
  ],
  [
    'cesql',
    'cesql EXISTS … AND … > 5',
    (g, n) => ({ filters: [{ cesql: `EXISTS priority AND priority > 5 AND tenant = '${n.tenant}'` }] }),
  ],
];

/** The attribute values of group g's events. */
function namesOf(g) {
  return { type: `com.example.g${g}.order.created`, source: '/orders/eu', tenant: `g${g}` };
}

/** The `n` triggers: `{ index, name, group, kind, filter?, filters? }`, names `t-0000`… */
export function makeTriggers(n) {
  const triggers = [];
  for (let i = 0; i < n; i++) {
    const group = Math.floor(i / ROLES.length);
    const [kind, , build] = ROLES[i % ROLES.length];
    triggers.push({
      index: i,
      name: `t-${String(i).padStart(4, '0')}`,
      group,
      kind,
      ...build(group, namesOf(group)),
    });
  }
  return triggers;
}

/** Number of groups, i.e. distinct event shapes, for n triggers. */
export const groupCount = (n) => Math.ceil(n / ROLES.length);

/** Event i belongs to group i mod G, so groups take turns. */
export const groupOfEvent = (i, n) => i % groupCount(n);

/** Indexes of the triggers an event of group g matches; `cesql: false` leaves out the CESQL roles. */
export function expectedMatches(triggers, g, { cesql = true } = {}) {
  return triggers.filter((t) => t.group === g && (cesql || t.kind !== 'cesql')).map((t) => t.index);
}

/** The extension attributes of group g's events besides type and source. */
function extensionsOf(g) {
  return { subject: 'order-42', tenant: `g${g}`, priority: '7' };
}

/** An in-process CloudEvent of group g (string attribute values, as binary mode delivers them). */
export function makeEvent(g, id, data) {
  const { type, source } = namesOf(g);
  return {
    attributes: {
      specversion: '1.0',
      id,
      source,
      type,
      datacontenttype: 'application/json',
      ...extensionsOf(g),
    },
    data,
  };
}

/** Binary-mode HTTP headers of group g's events, without ce-id (the load generator adds it). */
export function eventHeaders(g) {
  const { type, source } = namesOf(g);
  const headers = {
    'ce-specversion': '1.0',
    'ce-type': type,
    'ce-source': source,
    'content-type': 'application/json',
  };
  for (const [name, value] of Object.entries(extensionsOf(g))) headers[`ce-${name}`] = value;
  return headers;
}

/** Share of each kind among the triggers, e.g. { exact: 600, prefix: 200, cesql: 200 }. */
export function kindCounts(triggers) {
  const counts = { exact: 0, prefix: 0, cesql: 0 };
  for (const t of triggers) counts[t.kind]++;
  return counts;
}

/** Knative YAML: Broker default/default and one Trigger per entry, subscriber `<subscriberUrl>/t/<index>`. */
export function triggersYaml(triggers, subscriberUrl) {
  const docs = [
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: default, namespace: default }\n',
  ];
  for (const t of triggers) {
    const spec = { broker: 'default' };
    if (t.filter) spec.filter = t.filter;
    if (t.filters) spec.filters = t.filters;
    spec.subscriber = { uri: `${subscriberUrl}/t/${t.index}` };
    // JSON is YAML: no quoting questions for CESQL strings.
    docs.push(
      `apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: { name: ${t.name}, namespace: default }\nspec: ${JSON.stringify(spec)}\n`,
    );
  }
  return docs.join('---\n');
}
