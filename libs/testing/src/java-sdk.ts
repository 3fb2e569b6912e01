import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cachedBuild } from './cached-build';

// The official CloudEvents Java SDK's Kafka binding (io.cloudevents:cloudevents-kafka, what upstream
// Knative's Kafka broker, sink and channel data plane use), built from tools/interop/sdk-java-kafka
// into one jar in a cache outside the repository and reused while its sources are unchanged. It runs
// the SDK's serializer and deserializer on records in memory: no Kafka broker is involved.

const SOURCE_DIR = resolve(__dirname, '../../../tools/interop/sdk-java-kafka');
const SOURCE_FILES = ['pom.xml', 'src/main/java/interop/SdkJavaKafka.java'];

/** An event to hand the Java SDK: attributes as text, extensions typed, data as bytes. */
export interface JavaSdkEvent {
  attributes: Record<string, string>;
  /** Numbers become Integer extensions, booleans Boolean ones. */
  extensions?: Record<string, string | number | boolean>;
  data?: Buffer;
}

/** A Kafka record as the Java SDK wrote it: headers in record order. */
export interface JavaKafkaRecord {
  /** The key PartitionKeyExtensionInterceptor set (the partitionkey extension), as text. */
  key: string | null;
  /** The Java type of that key (String, Integer, Boolean). */
  keyType?: string;
  headers: Array<[string, Buffer | null]>;
  value: Buffer | null;
}

/** The records the SDK's CloudEventSerializer writes for one event, or why it refused it. */
export type JavaKafkaWritten = { binary: JavaKafkaRecord; structured: JavaKafkaRecord } | { error: string };

/** An event as the SDK's CloudEventDeserializer read it. */
export interface JavaKafkaEvent {
  /** Context attributes as the SDK's canonical strings (time re-formatted, URIs as parsed). */
  attributes: Record<string, string>;
  /** Extensions with the Java type the SDK holds: strings from headers; Integer and Boolean from JSON. */
  extensions: Record<string, string | number | boolean>;
  /** The bytes CloudEventData.toBytes() returns (re-serialised JSON for JSON data in structured mode). */
  data?: Buffer;
  /** The SDK's class for the data (BytesCloudEventData, JsonCloudEventData). */
  dataClass?: string;
}

export type JavaKafkaRead = { ok: true; event: JavaKafkaEvent } | { ok: false; error: string };

/** A record to hand the SDK's deserializer: headers as pairs in record order (repeats kept) or by name. */
export interface JavaKafkaRecordInput {
  headers: Iterable<readonly [string, Buffer | null]> | Record<string, Buffer>;
  value: Buffer | null | undefined;
}

const execFileAsync = promisify(execFile);

/**
 * Path of the built Java SDK Kafka interop jar, building it on first use with `mvn -q package`
 * (Maven Central downloads included, into the cache; progress goes to stderr). Needs `mvn` and a
 * Java 17+ `java` on PATH.
 */
export const javaSdkKafkaJar = cachedBuild({
  name: 'sdk-java-kafka',
  what: 'the CloudEvents Java SDK Kafka interop jar',
  downloads: 'Maven artifacts',
  sourceDir: SOURCE_DIR,
  sourceFiles: SOURCE_FILES,
  artifact: 'sdk-java-kafka.jar',
  build: async (dir, root) => {
    const work = join(dir, `build.${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    for (const file of SOURCE_FILES) cpSync(join(SOURCE_DIR, file), join(work, file));
    try {
      await execFileAsync('mvn', ['-q', '-B', `-Dmaven.repo.local=${join(root, 'm2')}`, 'package'], {
        cwd: work,
        maxBuffer: 16 << 20,
      });
      // Out of the work folder before it is removed; the caller renames it into place.
      const jar = join(dir, `sdk-java-kafka.${process.pid}.jar`);
      renameSync(join(work, 'target', 'sdk-java-kafka.jar'), jar);
      return jar;
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
      if (e.code === 'ENOENT')
        throw new Error(
          'sdk-java-kafka: `mvn` is not on PATH; the Java SDK interop tests need Maven and Java 17+',
        );
      // Maven reports build errors on stdout.
      throw new Error(`sdk-java-kafka: mvn package failed: ${e.stdout || ''}${e.stderr || e.message}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
});

async function runJar(mode: 'write' | 'read', input: unknown): Promise<unknown[]> {
  const jar = await javaSdkKafkaJar();
  const run = execFileAsync('java', ['-jar', jar, mode], { maxBuffer: 64 << 20 });
  run.child.stdin!.end(JSON.stringify(input));
  try {
    const { stdout } = await run;
    return JSON.parse(stdout) as unknown[];
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`sdk-java-kafka ${mode} failed: ${e.stderr || e.message}`);
  }
}

const b64 = (v: string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : Buffer.from(v, 'base64');

interface RawRecord {
  key: string | null;
  key_type?: string;
  headers: Array<[string, string | null]>;
  value: string | null;
}

const recordOf = (r: RawRecord): JavaKafkaRecord => ({
  key: r.key,
  ...(r.key_type !== undefined ? { keyType: r.key_type } : {}),
  headers: r.headers.map(([name, v]): [string, Buffer | null] => [name, b64(v)]),
  value: b64(r.value),
});

/**
 * Writes each event with the Java SDK as a producer would: PartitionKeyExtensionInterceptor sets the key,
 * CloudEventSerializer the headers and value, in binary and in structured (JSON) encoding. One JVM for all.
 */
export async function javaKafkaWrite(events: JavaSdkEvent[]): Promise<JavaKafkaWritten[]> {
  const input = events.map((e) => ({
    attributes: e.attributes,
    extensions: e.extensions ?? {},
    ...(e.data !== undefined ? { data_base64: e.data.toString('base64') } : {}),
  }));
  const out = (await runJar('write', input)) as Array<
    { binary: RawRecord; structured: RawRecord } | { error: string }
  >;
  return out.map((r) =>
    'error' in r ? r : { binary: recordOf(r.binary), structured: recordOf(r.structured) },
  );
}

/** Reads each record with the Java SDK's CloudEventDeserializer, as a consumer would. One JVM for all. */
export async function javaKafkaRead(records: JavaKafkaRecordInput[]): Promise<JavaKafkaRead[]> {
  const input = records.map((r) => ({
    headers: (Symbol.iterator in r.headers
      ? [...(r.headers as Iterable<readonly [string, Buffer | null]>)]
      : Object.entries(r.headers as Record<string, Buffer>)
    ).map(([name, v]) => [name, v === null ? null : v.toString('base64')]),
    value: r.value === null || r.value === undefined ? null : r.value.toString('base64'),
  }));
  const out = (await runJar('read', input)) as Array<
    | {
        ok: true;
        event: {
          attributes: Record<string, string>;
          extensions: Record<string, string | number | boolean>;
          data_base64?: string;
          data_class?: string;
        };
      }
    | { ok: false; error: string }
  >;
  return out.map((r) => {
    if (!r.ok) return r;
    const event: JavaKafkaEvent = { attributes: r.event.attributes, extensions: r.event.extensions };
    if (r.event.data_base64 !== undefined) event.data = Buffer.from(r.event.data_base64, 'base64');
    if (r.event.data_class !== undefined) event.dataClass = r.event.data_class;
    return { ok: true, event };
  });
}
