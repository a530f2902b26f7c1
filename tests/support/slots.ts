// Times for test bookings: always in the future, on the grid, inside the bookable hours
// of the seeded telescopes (see seeds/catalog.json).
const DAY_MS = 86_400_000;

/** Midnight UTC `days` days from today. */
export function dayFromToday(days: number): number {
  const now = Date.now();
  return now - (now % DAY_MS) + days * DAY_MS;
}

/** ISO instant `hour:minute` UTC on the day `days` from today. */
export function at(days: number, hour: number, minute = 0): string {
  return new Date(dayFromToday(days) + hour * 3_600_000 + minute * 60_000).toISOString();
}

export function item(telescopeId: string, days: number, hour: number, hours = 1) {
  return { telescopeId, start: at(days, hour), end: at(days, hour + hours) };
}
