/**
 * Versions reported by `tszk version`, the `srvr`/`stat` words and the logs.
 *
 * TSZK_VERSION is a constant rather than a read of package.json: with ESM and rootDir=src,
 * package.json is outside the compiled tree, and reading it at run time would tie every
 * command to a file lookup. test/unit/cli.test.ts fails when the two drift apart.
 */
export const TSZK_VERSION = '0.1.0';

/**
 * The Apache ZooKeeper release whose wire protocol and behaviour we match: the one Debian 12
 * ships (`dpkg -s zookeeper` says 3.8.0-11+deb12u2), which the comparison tests run against.
 */
export const ZOOKEEPER_COMPAT_VERSION = '3.8.0';
