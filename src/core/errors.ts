/**
 * The closed set of protocol-neutral errors that core throws. Each protocol maps them to its
 * wire form in one function at its edge. Messages are safe to show to users: no paths, SQL
 * or stack traces.
 */

/** Stable machine-readable codes of core errors. */
export type CoreErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Forbidden'
  | 'OverQuota'
  | 'InUse'
  | 'TooLarge'
  | 'InvalidInput'
  | 'Unavailable'
  | 'AuthFailed';

/** Base class of every error core throws on purpose. */
export abstract class CoreError extends Error {
  /** The stable code protocols map from. */
  abstract readonly code: CoreErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The object does not exist, or the caller may not see it (answered alike). */
export class NotFound extends CoreError {
  readonly code = 'NotFound' as const;
}
/** An object with that name or address exists already. */
export class AlreadyExists extends CoreError {
  readonly code = 'AlreadyExists' as const;
}
/** The caller is known but may not do this. */
export class Forbidden extends CoreError {
  readonly code = 'Forbidden' as const;
}
/** The change would take the account over its quota. */
export class OverQuota extends CoreError {
  readonly code = 'OverQuota' as const;
}
/** The object is in use and cannot be changed or removed now. */
export class InUse extends CoreError {
  readonly code = 'InUse' as const;
}
/** The input exceeds a size bound. */
export class TooLarge extends CoreError {
  readonly code = 'TooLarge' as const;
}
/** The input is malformed or not allowed. */
export class InvalidInput extends CoreError {
  readonly code = 'InvalidInput' as const;
}
/** A temporary failure; the caller may retry later. */
export class Unavailable extends CoreError {
  readonly code = 'Unavailable' as const;
}
/** Authentication failed (wrong credentials, unknown user, or throttled). */
export class AuthFailed extends CoreError {
  readonly code = 'AuthFailed' as const;
  /** Milliseconds the caller should wait before answering the client. */
  readonly delayMs: number;
  constructor(message: string, delayMs = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.delayMs = delayMs;
  }
}
