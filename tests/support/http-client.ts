// HTTP clients for tests: they never throw on a status and keep connections alive.
import http from 'node:http';
import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { LocalFederation } from './federation-harness.js';

export function httpClient(baseURL: string, token?: string): AxiosInstance {
  return axios.create({
    baseURL,
    validateStatus: () => true,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 512 }),
    timeout: 30_000,
    maxRedirects: 0,
    ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
  });
}

const owners = new WeakMap<LocalFederation, Map<string, string>>();

/**
 * A client of one node that authenticates as the right person for each request, the way a
 * scientist's or an operator's tool would: a booking as the scientist it is for, a booking's
 * reads and cancellation as the scientist who made it, /admin as that node's operator.
 * An explicit Authorization header (even empty) is left alone.
 */
export function federationClient(federation: LocalFederation, nodeId: string): AxiosInstance {
  const client = httpClient(federation.url(nodeId));
  if (!owners.has(federation)) owners.set(federation, new Map());
  const ownerOf = owners.get(federation)!;
  client.interceptors.request.use((config) => {
    if (config.headers.has('Authorization')) return config;
    const token = tokenFor(federation, nodeId, config, ownerOf);
    if (token) config.headers.set('Authorization', `Bearer ${token}`);
    return config;
  });
  client.interceptors.response.use((response) => {
    const data = response.data as { id?: unknown; scientistId?: unknown; bookingId?: unknown };
    if (typeof data?.id === 'string' && typeof data.scientistId === 'string') ownerOf.set(data.id, data.scientistId);
    const asked = bodyOf(response.config)?.scientistId;
    if (typeof data?.bookingId === 'string' && typeof asked === 'string') ownerOf.set(data.bookingId, asked); // a rejected booking
    return response;
  });
  return client;
}

function tokenFor(federation: LocalFederation, nodeId: string, config: InternalAxiosRequestConfig, ownerOf: Map<string, string>): string | undefined {
  const url = config.url ?? '';
  const scientists = federation.tokens.scientists;
  if (url.startsWith('/admin')) return federation.tokens.operators[nodeId];
  if (url === '/bookings' && config.method === 'post') {
    const scientistId = bodyOf(config)?.scientistId;
    return typeof scientistId === 'string' ? scientists[scientistId] ?? scientists['vera-rubin'] : scientists['vera-rubin'];
  }
  if (url.startsWith('/bookings?') || (url === '/bookings' && config.method === 'get')) {
    const asked = (config.params as { scientist?: string } | undefined)?.scientist ?? new URLSearchParams(url.split('?')[1] ?? '').get('scientist');
    return asked ? scientists[asked] : federation.tokens.operators[nodeId];
  }
  const bookingId = /^\/bookings\/([^/?]+)/.exec(url)?.[1];
  if (bookingId) return scientists[ownerOf.get(safeDecode(bookingId)) ?? 'vera-rubin'];
  return undefined;
}

function bodyOf(config: InternalAxiosRequestConfig): Record<string, unknown> | undefined {
  if (typeof config.data !== 'string') return config.data as Record<string, unknown> | undefined;
  try {
    return JSON.parse(config.data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
