// Where the Java reference (Debian's ZooKeeper 3.8) lives, and the one place that decides what a
// test does when it is missing: skip with a plain message, or fail when TSZK_REQUIRE_REFERENCE=1.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
export const ZKCLI_SH = '/usr/share/zookeeper/bin/zkCli.sh';
/** zkCli's REPL prints its `[zk: host:port(STATE) N]` prompt only with JLine 2 on the classpath. */
export const JLINE2_JAR = '/usr/share/java/jline2.jar';
/** Optional jars: their absence only loses logging or silences nothing. */
export const JANSI1_JAR = '/usr/share/java/jansi1.jar';
export const SLF4J_LOG4J12_JAR = '/usr/share/java/slf4j-log4j12.jar';
export const LOG4J12_JAR = '/usr/share/java/log4j-1.2.jar';
export const SLF4J_NOP_JAR = '/usr/share/java/slf4j-nop.jar';

export const INSTALL_HINT =
  'apt-get install -y --no-install-recommends zookeeper zookeeper-bin libslf4j-java liblog4j1.2-java libjline2-java';

export interface ReferenceInstall {
  available: boolean;
  /** Human-readable names of what is missing; empty when available. */
  missing: string[];
  /** Absolute path of `java` found on PATH. */
  java: string | undefined;
  zookeeperJar: string;
  zkCli: string;
  jline2Jar: string;
  /** Jars that exist and are worth adding to a classpath. */
  optionalJars: { jansi1?: string; slf4jLog4j12?: string; log4j12?: string; slf4jNop?: string };
}

function isFile(path: string, mode: number = constants.R_OK): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isFile(candidate, constants.X_OK)) return candidate;
  }
  return undefined;
}

let cached: ReferenceInstall | undefined;

/** Looks for java on PATH, zookeeper.jar, zkCli.sh and JLine 2. Cached per process. */
export function detectReference(): ReferenceInstall {
  if (cached) return cached;
  const java = findOnPath('java');
  const missing: string[] = [];
  if (!java) missing.push('java (not on PATH)');
  if (!isFile(ZOOKEEPER_JAR)) missing.push(ZOOKEEPER_JAR);
  if (!isFile(ZKCLI_SH, constants.X_OK)) missing.push(ZKCLI_SH);
  if (!isFile(JLINE2_JAR)) missing.push(JLINE2_JAR);
  const optional = (path: string): string | undefined => (isFile(path) ? path : undefined);
  const optionalJars: ReferenceInstall['optionalJars'] = {};
  const jansi1 = optional(JANSI1_JAR);
  if (jansi1) optionalJars.jansi1 = jansi1;
  const slf4jLog4j12 = optional(SLF4J_LOG4J12_JAR);
  if (slf4jLog4j12) optionalJars.slf4jLog4j12 = slf4jLog4j12;
  const log4j12 = optional(LOG4J12_JAR);
  if (log4j12) optionalJars.log4j12 = log4j12;
  const slf4jNop = optional(SLF4J_NOP_JAR);
  if (slf4jNop) optionalJars.slf4jNop = slf4jNop;
  cached = {
    available: missing.length === 0,
    missing,
    java,
    zookeeperJar: ZOOKEEPER_JAR,
    zkCli: ZKCLI_SH,
    jline2Jar: JLINE2_JAR,
    optionalJars,
  };
  return cached;
}

/** TSZK_REQUIRE_REFERENCE=1 turns a missing reference from a skip into a failure. */
export function referenceRequired(): boolean {
  return process.env['TSZK_REQUIRE_REFERENCE'] === '1';
}

export function missingReferenceMessage(install: ReferenceInstall = detectReference()): string {
  return `Java reference ZooKeeper not installed (missing: ${install.missing.join(', ')}); install with: ${INSTALL_HINT}`;
}

export type ReferenceDecision =
  | { type: 'run'; install: ReferenceInstall }
  | { type: 'skip'; reason: string }
  | { type: 'fail'; reason: string };

/** The skip policy, in one place. */
export function referenceDecision(): ReferenceDecision {
  const install = detectReference();
  if (install.available) return { type: 'run', install };
  const reason = missingReferenceMessage(install);
  return referenceRequired() ? { type: 'fail', reason: `${reason} (TSZK_REQUIRE_REFERENCE=1)` } : { type: 'skip', reason };
}

export class ReferenceMissingError extends Error {
  readonly code = 'REFERENCE_MISSING';
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceMissingError';
  }
}

/** For use inside a test or hook that cannot run without the reference: returns the install or
 * throws. Call it where skipping has already been decided (under describeWithReference). */
export function requireReference(): ReferenceInstall {
  const install = detectReference();
  if (!install.available) throw new ReferenceMissingError(missingReferenceMessage(install));
  return install;
}

const announced = new Set<string>();

/** Says once per reason why something is skipped (nested blocks skip for the same reason). */
function announceSkip(name: string, reason: string): void {
  if (announced.has(reason)) return;
  announced.add(reason);
  console.warn(`[tszk tests] skipping "${name}": ${reason}`);
}

/**
 * `describe` for a block that needs the Java reference. Available: runs the block. Missing: the
 * block is skipped with the reason in its name, or, under TSZK_REQUIRE_REFERENCE=1, replaced by one
 * failing test that says what is missing.
 */
export function describeWithReference(name: string, body: () => void): void {
  const decision = referenceDecision();
  switch (decision.type) {
    case 'run':
      describe(name, body);
      return;
    case 'skip':
      announceSkip(name, decision.reason);
      describe.skip(`${name} (skipped: ${decision.reason})`, body);
      return;
    case 'fail':
      describe(name, () => {
        it('needs the Java reference ZooKeeper', () => {
          throw new ReferenceMissingError(decision.reason);
        });
      });
      return;
  }
}

/** Used by other support files to word skips the same way. */
export function announceSkipOnce(name: string, reason: string): void {
  announceSkip(name, reason);
}
