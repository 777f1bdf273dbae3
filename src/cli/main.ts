/**
 * `tszk` entry point: bin/tszk runs `node dist/cli/main.js <command>` (start-foreground, the
 * server itself, runs from the startup snapshot instead when one is built: launch.ts).
 *
 *   tszk [--config <conf-dir>] {start|start-foreground|stop|status|restart|print-cmd} [config]
 *   tszk version
 *   tszk [--config <conf-dir>] purge [config] [-n count]
 *   tszk txnlog <file>
 *   tszk snapshot <file> [--json]
 */
import { main } from './cli.js';

// Exit explicitly: after start-foreground has closed the server nothing should keep us alive,
// and stdout/stderr writes are synchronous for files, pipes and terminals on POSIX.
process.exit(await main(process.argv.slice(2)));
