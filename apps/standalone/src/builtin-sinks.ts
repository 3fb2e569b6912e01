import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseHttp, type CloudEvent } from '@eventing/cloudevents';
import { SINKS_PATH, classifyPath, readBody, respond } from '@eventing/broker';

/** Path prefix of the sinks built into standalone mode (`/_sinks/<sink>/<name>`, see addresses.ts). */
export const SINKS_PREFIX = SINKS_PATH;
/** Sinks an address book entry `builtin:<kind>` can name. */
export const BUILTIN_SINKS = ['display', 'fail'] as const;

const REQUIRED = ['specversion', 'id', 'source', 'type'];
const OPTIONAL = ['subject', 'time', 'datacontenttype', 'dataschema', 'schemaurl', 'datacontentencoding'];

/** Renders an event for a terminal: context attributes, extensions, then data. */
export function formatEvent(label: string, event: CloudEvent): string {
  const a = event.attributes;
  const lines = [`☁  ${label}  ${new Date().toISOString()}`, '  Context Attributes,'];
  for (const k of [...REQUIRED, ...OPTIONAL]) if (a[k] !== undefined) lines.push(`    ${k}: ${String(a[k])}`);
  const ext = Object.keys(a)
    .filter((k) => !REQUIRED.includes(k) && !OPTIONAL.includes(k))
    .sort();
  if (ext.length) {
    lines.push('  Extensions,');
    for (const k of ext) lines.push(`    ${k}: ${String(a[k])}`);
  }
  if (event.data !== undefined && event.data.length > 0) {
    lines.push('  Data,');
    const type = String(a.datacontenttype ?? 'application/json');
    let text: string;
    if (/json/.test(type)) {
      try {
        text = JSON.stringify(JSON.parse(event.data.toString('utf8')), null, 2);
      } catch {
        text = event.data.toString('utf8');
      }
    } else if (/^text\//.test(type) || /xml/.test(type)) {
      text = event.data.toString('utf8');
    } else {
      text = `<${event.data.length} bytes, base64> ${event.data.toString('base64')}`;
    }
    for (const line of text.split('\n')) lines.push(`    ${line}`);
  }
  return lines.join('\n');
}

/**
 * The built-in sinks: `/_sinks/display/<name>` prints each event and answers 202;
 * `/_sinks/fail/<name>` prints it and answers 500, to show retries and dead letters.
 */
export function createBuiltinSinks(print: (text: string) => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = classifyPath(req.url ?? '/');
    if (!path.ok || path.kind !== 'sink') {
      req.resume();
      return respond(res, path.ok ? 404 : path.status, path.ok ? 'not a built-in sink' : path.reason);
    }
    const { namespace: kind, name } = path;
    if (req.method !== 'POST') {
      req.resume();
      return respond(res, 405, 'send events with POST', { allow: 'POST' });
    }
    const body = await readBody(req, 64 * 1024 * 1024);
    if (!body.ok) return respond(res, body.status, body.reason);
    const parsed = parseHttp(req.headers, body.body);
    if (!parsed.ok) return respond(res, 400, parsed.reason);
    if (kind === 'display') {
      print(formatEvent(name, parsed.event));
      return respond(res, 202);
    }
    if (kind === 'fail') {
      const attempt = req.headers['x-request-id'] ? ` (request ${String(req.headers['x-request-id'])})` : '';
      print(`✗  ${name} refused event ${String(parsed.event.attributes.id)} with 500${attempt}`);
      return respond(res, 500, `${name} fails every delivery on purpose`);
    }
    return respond(res, 404, `no built-in sink '${kind}': use one of ${BUILTIN_SINKS.join(', ')}`);
  };
}
