// A plain HTTP client for tests: never throws on a status, keeps connections alive.
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';

export function httpClient(baseURL: string): AxiosInstance {
  return axios.create({
    baseURL,
    validateStatus: () => true,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 512 }),
    timeout: 30_000,
    maxRedirects: 0,
  });
}
