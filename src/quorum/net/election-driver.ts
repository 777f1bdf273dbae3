/**
 * Runs the pure FastLeaderElection over a real ElectionLink: decodes incoming frames, feeds the
 * machine, encodes and sends what it returns, and ticks it from one coarse timer. This is the
 * whole of the election's I/O; what happens after a decision (leading, following) belongs to the
 * caller, which gets `onDecision` and calls `lookAgain` when it falls back to LOOKING.
 */
import type { Logger } from 'pino';
import { FastLeaderElection, type Decision, type FleOutput } from '../election/fast-leader-election.js';
import { decodeNotification, encodeNotification, NotificationDecodeError, type Notification } from '../election/notification.js';
import { formatVote, serverStateName } from '../election/vote.js';
import { ElectionLink, type ElectionLinkOptions } from './election-link.js';

export interface ElectionDriverOptions {
  fle: FastLeaderElection;
  link: Omit<ElectionLinkOptions, 'onMessage' | 'myId' | 'logger'>;
  logger: Logger;
  /** Milliseconds from a monotonic clock; default performance.now(). */
  nowMs?: () => number;
  /** Smallest wait before the election's next deadline is checked; default 20 ms. */
  tickIntervalMs?: number;
  onDecision?: (decision: Decision) => void;
  /** Every notification received and decoded, before the election sees it (for tests, metrics). */
  onNotification?: (from: bigint, notification: Notification) => void;
}

export class ElectionDriver {
  readonly fle: FastLeaderElection;
  readonly link: ElectionLink;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private readonly tickIntervalMs: number;
  private readonly onDecision: ((decision: Decision) => void) | undefined;
  private readonly onNotification: ((from: bigint, notification: Notification) => void) | undefined;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastDecision: Decision | null = null;
  /** Frames that were not notifications 3.8 would accept. */
  badNotifications = 0;

  constructor(options: ElectionDriverOptions) {
    this.fle = options.fle;
    this.logger = options.logger;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.tickIntervalMs = options.tickIntervalMs ?? 20;
    this.onDecision = options.onDecision;
    this.onNotification = options.onNotification;
    this.link = new ElectionLink({
      ...options.link,
      myId: options.fle.myId,
      logger: options.logger,
      onMessage: (from, payload) => this.onMessage(from, payload),
    });
  }

  get decision(): Decision | null {
    return this.lastDecision;
  }

  /** Listens on the election port and starts the first round. */
  async start(): Promise<void> {
    await this.link.start();
    this.lookAgain();
  }

  /** Starts a new round (the server is LOOKING again), with what it now knows of its log. */
  lookAgain(local?: { lastLoggedZxid: bigint; currentEpoch: bigint }): void {
    this.lastDecision = null;
    this.logger.info({ logicalclock: String(this.fle.logicalclock + 1n) }, 'looking for a leader');
    this.dispatch(this.fle.start(this.nowMs(), local));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.link.close();
  }

  private onMessage(from: bigint, payload: Buffer): void {
    let notification;
    try {
      notification = decodeNotification(payload);
    } catch (error) {
      if (!(error instanceof NotificationDecodeError)) throw error;
      this.badNotifications += 1;
      this.logger.warn({ peer: String(from), err: error.message, bytes: payload.length }, 'skipping malformed notification');
      return;
    }
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ peer: String(from), vote: formatVote(notification), myState: serverStateName(this.fle.state) }, 'notification');
    }
    this.onNotification?.(from, notification);
    this.dispatch(this.fle.receive(from, notification, this.nowMs()));
  }

  private onTimer(): void {
    this.timer = null;
    const deadline = this.fle.nextDeadlineMs();
    if (deadline === null) return;
    const now = this.nowMs();
    if (now >= deadline) this.dispatch(this.fle.tick(now));
    else this.armTimer();
  }

  /**
   * One timer, armed for the election's next deadline (re-sends, the finalize wait) and only
   * while it has one: a server that is leading or following wakes up for nothing here.
   */
  private armTimer(): void {
    if (this.stopped) return;
    const deadline = this.fle.nextDeadlineMs();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (deadline === null) return;
    const wait = Math.max(this.tickIntervalMs, deadline - this.nowMs());
    this.timer = setTimeout(() => this.onTimer(), wait);
  }

  private dispatch(out: FleOutput): void {
    this.dispatchOutput(out);
    this.armTimer();
  }

  private dispatchOutput(out: FleOutput): void {
    for (const m of out.messages) this.link.toSend(m.to, encodeNotification(m.notification));
    if (out.decision) {
      this.lastDecision = out.decision;
      this.logger.info(
        {
          leader: String(out.decision.leader),
          role: out.decision.role,
          electionEpoch: String(out.decision.electionEpoch),
          zxid: `0x${out.decision.zxid.toString(16)}`,
          peerEpoch: String(out.decision.peerEpoch),
        },
        'election decided',
      );
      this.onDecision?.(out.decision);
    }
  }
}
