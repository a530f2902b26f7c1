// RFC 9457 problem details: every error the node answers with has this shape.
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Problem types: a stable name and title for each kind of error (docs/API.md lists them). */
export const PROBLEMS = {
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'invalid-request': { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'slot-taken': { status: 409, title: 'Slot already taken' },
  'booking-state-conflict': { status: 409, title: 'Booking is not in a state that allows this' },
  'not-prepared': { status: 409, title: 'Transaction not prepared here' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'unprocessable-booking': { status: 422, title: 'Booking cannot be made' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused with a different request' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'internal-error': { status: 500, title: 'Internal error' },
  'observatory-unavailable': { status: 503, title: 'Observatory unavailable' },
  'not-ready': { status: 503, title: 'Not ready' },
  standby: { status: 503, title: 'Standby: another process of this observatory is active' },
  'outcome-unknown': { status: 504, title: 'Outcome unknown' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export function problemTypeUri(type: ProblemType): string {
  return `urn:observatory-federation:problem:${type}`;
}

/** Thrown anywhere in a request; the error middleware turns it into problem+json. */
export class HttpProblem extends Error {
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  get status(): number {
    return PROBLEMS[this.type].status;
  }

  body(instance?: string): ProblemBody {
    return {
      type: problemTypeUri(this.type),
      title: PROBLEMS[this.type].title,
      status: this.status,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}
