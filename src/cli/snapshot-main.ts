/**
 * The entry point of tszk's startup snapshot (see launch.ts). scripts/build-snapshot.mjs bundles
 * this module with everything it imports into one script and has node build a snapshot from
 * it: the imports below are evaluated then, at build time, and what runs at start-up is only
 * the function handed to setDeserializeMainFunction.
 *
 * Nothing here may capture the environment at build time: process.argv, process.env, the
 * working directory and the clock are read inside that function. The checkout's location comes
 * from TSZK_HOME, which every launcher sets; the path this file was built at is the fallback.
 */
import { startupSnapshot } from 'node:v8';
// Evaluated into the snapshot; the CLI would otherwise import them when the server starts.
import '../server/server.js';
import '../quorum/quorum-peer.js';
import { runPlain } from './cli.js';
import { PROJECT_ROOT } from './daemon.js';
import { HOME_ENV } from './launch.js';

async function runFromSnapshot(argv: readonly string[]): Promise<number> {
  const projectRoot = process.env[HOME_ENV] || PROJECT_ROOT;
  // As bin/tszk decides: the command comes first, or third after --config <conf-dir>.
  const command = argv[0] === '--config' ? argv[2] : argv[0];
  const run = command === 'start-foreground' ? runPlain(argv, projectRoot) : null;
  if (run !== null) return run;
  // The argument parser (yargs) is not in the snapshot: the other commands run from main.js.
  process.stderr.write(`tszk: the startup snapshot runs start-foreground [config] only; run node ${projectRoot}/dist/cli/main.js\n`);
  return 2;
}

if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(() => {
    // With a snapshot there is no script in argv: the command line starts at argv[1].
    void runFromSnapshot(process.argv.slice(1)).then((code) => process.exit(code));
  });
}
