/** A broken invariant found by the simulator (as opposed to a bug in the simulator itself). */
export class SimFailure extends Error {
  override name = 'SimFailure';
  constructor(
    message: string,
    readonly checker = 'sim',
  ) {
    super(message);
  }
}
