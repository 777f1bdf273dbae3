/**
 * Operational errors: typed, with a stable `code` callers branch on.
 * ZooKeeper result codes are values in replies, never these.
 */
export class TszkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TszkError';
  }
}

/** A frame or record that cannot be decoded: the connection that sent it is closed. */
export class DecodeError extends TszkError {
  constructor(message: string) {
    super('ERR_BAD_FRAME', message);
    this.name = 'DecodeError';
  }
}

/** A zoo.cfg or environment setting that cannot be used. */
export class ConfigError extends TszkError {
  constructor(message: string) {
    super('ERR_BAD_CONFIG', message);
    this.name = 'ConfigError';
  }
}
