/** Time and identity sources handed in through the context, so tests can control them. */
import { randomBytes } from 'node:crypto';

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that tests move by hand. */
export class FakeClock implements Clock {
  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  /** The fake time. */
  now(): number {
    return this.ms;
  }
  /** Moves time forward. */
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Makes opaque, URL-safe, unguessable ids with a one-letter type prefix. */
export function newId(prefix: string): string {
  return prefix + randomBytes(12).toString('base64url');
}
