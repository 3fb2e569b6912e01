// The AdmissionReview document the API server POSTs to an admission webhook (admission.k8s.io/v1;
// v1beta1 has the same shape and is answered in its own apiVersion).

/** Group, version and kind (or resource) of the object under review. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The parts of an AdmissionRequest this webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** A metav1.Status as the API server shows it to the client that made the request. */
export interface AdmissionStatus {
  status: 'Failure';
  message: string;
  reason: 'BadRequest';
  code: 400;
  metadata: Record<string, never>;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** Base64 of a JSON Patch (RFC 6902) document. */
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

/** The AdmissionReview versions the API server may send; the answer repeats the request's. */
export const ADMISSION_REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export type ParsedReview = { ok: true; review: AdmissionReview } | { ok: false; message: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Decodes and checks an AdmissionReview body. What is wrong is named by its path in the document
 * (`request.kind.kind: expected string, got number`); the caller answers 400 with it.
 */
export function parseAdmissionReview(body: Buffer | string): ParsedReview {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { ok: false, message: `could not decode body: ${(err as Error).message}` };
  }
  if (!isObject(doc))
    return { ok: false, message: `expected an AdmissionReview object, got ${describe(doc)}` };
  const fail = (path: string, problem: string): ParsedReview => ({
    ok: false,
    message: `${path}: ${problem}`,
  });
  if (!(ADMISSION_REVIEW_VERSIONS as readonly unknown[]).includes(doc['apiVersion']))
    return fail(
      'apiVersion',
      `expected one of ${ADMISSION_REVIEW_VERSIONS.join(', ')}, got ${JSON.stringify(doc['apiVersion'] ?? null)}`,
    );
  if (doc['kind'] !== 'AdmissionReview')
    return fail('kind', `expected AdmissionReview, got ${JSON.stringify(doc['kind'] ?? null)}`);
  const request = doc['request'];
  if (!isObject(request))
    return fail('request', request === undefined ? 'missing field(s)' : 'expected object');
  if (typeof request['uid'] !== 'string' || request['uid'] === '')
    return fail(
      'request.uid',
      request['uid'] === undefined ? 'missing field(s)' : 'expected a non-empty string',
    );
  const kind = request['kind'];
  if (!isObject(kind))
    return fail('request.kind', kind === undefined ? 'missing field(s)' : 'expected object');
  for (const field of ['group', 'version', 'kind'] as const) {
    // The core group is the empty string; version and kind never are.
    const value = kind[field];
    if (typeof value !== 'string' || (field !== 'group' && value === ''))
      return fail(
        `request.kind.${field}`,
        value === undefined ? 'missing field(s)' : `expected a non-empty string, got ${describe(value)}`,
      );
  }
  if (typeof request['operation'] !== 'string' || !OPERATIONS.includes(request['operation']))
    return fail(
      'request.operation',
      `expected one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(request['operation'] ?? null)}`,
    );
  for (const field of ['object', 'oldObject'] as const) {
    const value = request[field];
    if (value !== undefined && value !== null && !isObject(value))
      return fail(`request.${field}`, `expected object, got ${describe(value)}`);
  }
  for (const field of ['namespace', 'name', 'subResource'] as const) {
    const value = request[field];
    if (value !== undefined && typeof value !== 'string')
      return fail(`request.${field}`, `expected string, got ${describe(value)}`);
  }
  const userInfo = request['userInfo'];
  if (userInfo !== undefined && !isObject(userInfo)) return fail('request.userInfo', 'expected object');
  if (isObject(userInfo) && userInfo['username'] !== undefined && typeof userInfo['username'] !== 'string')
    return fail('request.userInfo.username', `expected string, got ${describe(userInfo['username'])}`);
  return { ok: true, review: doc as unknown as AdmissionReview };
}

/** A refusal as upstream's webhooks answer one: 400 BadRequest with the message the client sees. */
export function refuse(uid: string, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { status: 'Failure', message, reason: 'BadRequest', code: 400, metadata: {} },
  };
}

/** Wraps a response in the AdmissionReview envelope of the request's apiVersion. */
export function reviewResponse(apiVersion: string, response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', response });
}
