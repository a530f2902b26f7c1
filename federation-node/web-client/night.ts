// The night grid's time axis: a 24-hour window in 30-minute columns from 18:00 UTC of the
// chosen date, which covers the nights of observatories from Hawai'i to Chile and the Canaries.
import { getPosition } from 'suncalc';

export const COLUMN_MS = 30 * 60_000;
export const COLUMNS = 48;
const WINDOW_START_HOUR_UTC = 18;
/** Sun more than 18° below the horizon: astronomical night. */
const ASTRONOMICAL_NIGHT_ALTITUDE_RAD = (-18 * Math.PI) / 180;

export function windowStart(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) + WINDOW_START_HOUR_UTC * 3_600_000;
}

export function columnsOf(startMs: number): number[] {
  return Array.from({ length: COLUMNS }, (_, i) => startMs + i * COLUMN_MS);
}

export function isAstronomicalNight(atMs: number, latitude: number, longitude: number): boolean {
  return getPosition(new Date(atMs + COLUMN_MS / 2), latitude, longitude).altitude < ASTRONOMICAL_NIGHT_ALTITUDE_RAD;
}

export function utcHour(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

export function localHour(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
}

export function utcText(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function tomorrowUtc(nowMs: number): string {
  return new Date(nowMs + 86_400_000).toISOString().slice(0, 10);
}
