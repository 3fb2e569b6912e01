#!/usr/bin/env node
// Installs the Apache Kafka broker jars named in pom.xml (beside this file) from Maven Central into
// <cache>/kafka-<version>/lib, once; prints that install folder. Needs Java 17+ and Maven on PATH.
// The Maven local repository is <cache>/maven, so the whole install can be removed with the cache.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureInstalled, main, progress, run } from '../cache.mjs';

const pom = join(dirname(fileURLToPath(import.meta.url)), 'pom.xml');

/** The Kafka version pom.xml pins. */
export function kafkaVersion() {
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, 'utf8'))?.[1];
  if (!version) throw new Error(`no <kafka.version> in ${pom}`);
  return version;
}

/** Installs the broker jars if they are not installed yet; resolves with the install folder (jars in lib/). */
export function ensureKafka() {
  const version = kafkaVersion();
  const root = cacheRoot();
  return ensureInstalled(join(root, `kafka-${version}`), async (tmp) => {
    const started = Date.now();
    progress('kafka', `fetching Kafka ${version} jars from Maven Central… (first run only, ~10 s)`);
    await run(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        pom,
        `-Dmaven.repo.local=${join(root, 'maven')}`,
        `-Dkafka.libdir=${join(tmp, 'lib')}`,
        'dependency:copy-dependencies',
      ],
      {
        capture: true,
        hint: 'the Kafka test broker needs Maven and Java 17+ (Debian: apt-get install maven openjdk-17-jdk-headless)',
      },
    );
    progress('kafka', `Kafka ${version} jars installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main('kafka', ensureKafka);
