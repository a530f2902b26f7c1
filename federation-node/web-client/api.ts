// The public API as the app uses it: a bearer token to the node the scientist signed in to,
// other observatories' public reads (availability, events) at the URLs the API gives.

export interface Link { href: string; method?: string }
export interface Member { id: string; name: string; site: string; timezone: string; latitude: number; longitude: number; url: string; telescopes: string[] }
export interface Telescope {
  id: string; observatoryId: string; name: string; apertureM: number; instrument: string; slotMinutes: number;
  bookableHoursUtc: { from: number; to: number };
  _links: { availability: Link & { templated?: boolean } };
}
export interface SlotState { start: string; end: string; state: string; bookingId?: string }
export interface Item { telescopeId: string; start: string; end: string; observatoryId?: string }
export interface Booking {
  id: string; status: string; scientistId: string; coordinator: string; requestedAt: string; createdAt: string;
  items: Array<Item & { observatoryId: string }>;
  observatories: Array<{ observatoryId: string; state: string }>;
  reason?: unknown;
  _links: Record<string, Link | Link[]>;
}
export interface Me { kind: 'scientist' | 'operator'; scientistId?: string; observatoryId?: string; observatory: string; _links: Record<string, Link> }
export interface Problem { type: string; title: string; status: number; detail: string; bookingId?: string; takenSlots?: Array<Item & { segment: number }>; suggestions?: Array<Item & { segment: number; observatoryId: string }>; attempts?: string[] }

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? `HTTP ${status}`);
  }
}

const TOKEN_KEY = 'observatory-federation-token';

export const session = {
  get token(): string | null { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value: string | null) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A call to this node (or to a URL the API gave); problem+json becomes an ApiError. */
export async function call<T>(url: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  const sameOrigin = new URL(url, location.href).origin === location.origin;
  if (sameOrigin && session.token) headers.set('Authorization', `Bearer ${session.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const response = await fetch(url, { ...init, headers, body, cache: 'no-store' });
  const data = response.headers.get('content-type')?.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof data === 'object' ? data : { type: 'about:blank', title: response.statusText, status: response.status, detail: String(data) });
  return data as T;
}

/** Expands a `{?from,to}` link template. */
export function expand(template: string, query: Record<string, string>): string {
  const base = template.replace(/\{\?[^}]*\}$/, '');
  return `${base}?${new URLSearchParams(query).toString()}`;
}
