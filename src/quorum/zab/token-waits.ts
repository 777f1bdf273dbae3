/**
 * Actions a role holds back until its writes are durable: each waits for a persist token (and,
 * normally, every token before it). Tokens only grow, so the queue is FIFO; an array with a cursor.
 */
export class TokenWaits<A> {
  private items: { token: number; action: A }[] = [];
  private head = 0;

  add(token: number, action: A): void {
    this.items.push({ token, action });
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Remove and return the actions whose token is durable, oldest first. */
  takeDue(isDue: (token: number, action: A) => boolean): A[] {
    const due: A[] = [];
    while (this.head < this.items.length && isDue(this.items[this.head]!.token, this.items[this.head]!.action)) {
      due.push(this.items[this.head++]!.action);
    }
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return due;
  }
}
