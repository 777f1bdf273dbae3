/**
 * The `tszk` command line (entry points: main.ts, and snapshot-main.ts for the startup snapshot):
 * parses it and is the one place where operational errors become messages and exit codes.
 *
 *   tszk [--config <conf-dir>] {start|start-foreground|stop|status|restart|print-cmd} [config]
 *   tszk version
 *   tszk [--config <conf-dir>] purge [config] [-n count]
 *   tszk txnlog <file>
 *   tszk snapshot <file> [--json]
 */
import type { Argv } from 'yargs';
import { ConfigError, TszkError } from '../util/errors.js';
import { TSZK_VERSION, ZOOKEEPER_COMPAT_VERSION } from '../version.js';
import {
  EXIT_BAD_CONFIG,
  EXIT_FAILED,
  EXIT_OK,
  PROJECT_ROOT,
  runPrintCmd,
  runRestart,
  runStart,
  runStartForeground,
  runStatus,
  runStop,
  type CliContext,
} from './daemon.js';
import { runPurge, runSnapshot, runTxnLog } from './data-tools.js';

type Command = (arg: string | undefined, ctx: CliContext) => Promise<number> | number;

/** zkEnv.sh takes `--config <conf-dir>` only as the very first argument; so do we. */
function splitConfDir(args: readonly string[]): { confDir: string | null; rest: string[] } {
  const dir = args[1];
  if (args[0] === '--config' && dir !== undefined && args.length > 2) return { confDir: dir, rest: args.slice(2) };
  return { confDir: null, rest: [...args] };
}

/** Operator errors print one line (no stack); anything else is a bug and shows its stack. */
function reportFailure(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nInvalid config, exiting abnormally\n`);
    return EXIT_BAD_CONFIG;
  }
  if (err instanceof TszkError || isSystemError(err)) {
    process.stderr.write(`tszk: ${err.message}\n`);
    return EXIT_FAILED;
  }
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILED;
}

/** EADDRINUSE, EACCES and friends: the environment's fault, not ours. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

async function guarded(command: Command, arg: string | undefined, ctx: CliContext): Promise<number> {
  try {
    return await command(arg, ctx);
  } catch (err) {
    return reportFailure(err);
  }
}

function withConfigArg(y: Argv): Argv<{ config: string | undefined }> {
  return y.positional('config', {
    type: 'string',
    describe: 'config file: a name in the config dir, or a path (default $ZOOCFG, else zoo.cfg)',
  });
}

/**
 * The server commands in their plain forms (`start-foreground [config]` and the like) skip the
 * argument parser: loading yargs costs more than a hundred milliseconds, a good part of the time
 * from process start to the first session. Anything else (options, help, typos) goes to yargs.
 */
const PLAIN_COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['start-foreground', runStartForeground],
  ['start', runStart],
  ['stop', runStop],
  ['status', runStatus],
  ['restart', runRestart],
]);

function plainCommand(rest: readonly string[]): { command: Command; config: string | undefined } | null {
  const [name, config, ...extra] = rest;
  const command = name === undefined ? undefined : PLAIN_COMMANDS.get(name);
  if (command === undefined || extra.length > 0 || (config !== undefined && config.startsWith('-'))) return null;
  return { command, config };
}

function contextOf(confDir: string | null, projectRoot: string): CliContext {
  return { env: process.env, cwd: process.cwd(), confDir, projectRoot };
}

/** Runs a command in its plain form (no options); null when `argv` is not one. */
export function runPlain(argv: readonly string[], projectRoot = PROJECT_ROOT): Promise<number> | null {
  const { confDir, rest } = splitConfDir(argv);
  const plain = plainCommand(rest);
  return plain === null ? null : guarded(plain.command, plain.config, contextOf(confDir, projectRoot));
}

export async function main(argv: readonly string[]): Promise<number> {
  const plainRun = runPlain(argv);
  if (plainRun !== null) return plainRun;
  const { confDir, rest } = splitConfDir(argv);
  const ctx = contextOf(confDir, PROJECT_ROOT);
  const { default: yargs } = await import('yargs');
  let exitCode = EXIT_OK;
  const commands: ReadonlyArray<[string, string, Command]> = [
    ['start', 'start the server in the background; returns once it answers on its client port', runStart],
    ['start-foreground', 'run the server in this process, logging JSON to stdout', runStartForeground],
    ['stop', 'stop the server named by the pid file', runStop],
    ['status', "print the server's Mode (exit 1 when it does not answer)", runStatus],
    ['restart', 'stop, then start', runRestart],
    ['print-cmd', 'print the command line start would run', runPrintCmd],
  ];

  let parser = yargs(rest)
    .scriptName('tszk')
    .usage('Usage: tszk [--config <conf-dir>] <command> [config]')
    .epilog(
      'The config dir is --config, else $ZOOCFGDIR, else conf/ in the tszk checkout. ' +
        'The pid file is $ZOOPIDFILE, else <dataDir>/zookeeper_server.pid; ' +
        'start writes server output under $ZOO_LOG_DIR, else logs/. ' +
        'TSZK_LOG_LEVEL sets the log level (default info).',
    );
  for (const [name, describe, command] of commands) {
    parser = parser.command(`${name} [config]`, describe, withConfigArg, async (args) => {
      exitCode = await guarded(command, args.config, ctx);
    });
  }
  await parser
    .command(
      'purge [config]',
      'delete all but the newest snapshots and the txn logs they need (like zkCleanup.sh)',
      (y) => withConfigArg(y).option('n', { type: 'number', describe: 'snapshots to keep (at least 3; default autopurge.snapRetainCount)' }),
      async (args) => {
        exitCode = await guarded((arg, c) => runPurge(arg, args.n, c), args.config, ctx);
      },
    )
    .command(
      'txnlog <file>',
      'print a txn log file, one txn per line, verifying checksums',
      (y) => y.positional('file', { type: 'string', demandOption: true }),
      async (args) => {
        exitCode = await guarded(() => runTxnLog(args.file), undefined, ctx);
      },
    )
    .command(
      'snapshot <file>',
      'print a snapshot file (nodes, sessions, digest), verifying checksums',
      (y) => y.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
      async (args) => {
        exitCode = await guarded(() => runSnapshot(args.file, args.json), undefined, ctx);
      },
    )
    .command('version', 'print the tszk version', {}, () => {
      const compat = `compatible with Apache ZooKeeper ${ZOOKEEPER_COMPAT_VERSION}`;
      process.stdout.write(`tszk, version ${TSZK_VERSION} (${compat})\n`);
    })
    .demandCommand(1, 'Name a command.')
    .strict()
    .version(TSZK_VERSION)
    .help()
    .alias('help', 'h')
    .wrap(null)
    .parseAsync();
  return exitCode;
}
