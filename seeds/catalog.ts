// The federation's catalog (observatories and their telescopes) and its scientists, as the
// seed files describe them. Every node reads the same files: it is the authority over its
// own telescopes and uses the rest to route booking items to their observatory.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NodeId } from '../coordinator-2pc/src/messages.js';

export const TELESCOPE_ID_PATTERN = /^[a-z][a-z0-9-]{1,63}$/;

export const TelescopeSeed = z
  .object({
    id: z.string().regex(TELESCOPE_ID_PATTERN),
    name: z.string().min(1).max(200),
    apertureM: z.number().positive().max(100),
    instrument: z.string().min(1).max(200),
    slotMinutes: z.number().int().refine((m) => m >= 5 && 1440 % m === 0, 'slotMinutes must divide a day (5..1440)'),
    bookableFromHourUtc: z.number().int().min(0).max(23),
    /** Exclusive; smaller than bookableFromHourUtc when the window crosses midnight UTC. */
    bookableToHourUtc: z.number().int().min(0).max(24),
  })
  .refine((t) => t.bookableFromHourUtc !== t.bookableToHourUtc, 'the bookable window must not be empty');
export type TelescopeSeed = z.infer<typeof TelescopeSeed>;

export const ObservatorySeed = z.object({
  id: NodeId,
  name: z.string().min(1).max(200),
  site: z.string().min(1).max(200),
  timezone: z.string().min(1).max(64),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  telescopes: z.array(TelescopeSeed).min(1).max(100),
});
export type ObservatorySeed = z.infer<typeof ObservatorySeed>;

export const CatalogSeed = z
  .object({ observatories: z.array(ObservatorySeed).min(1).max(16) })
  .refine((c) => unique(c.observatories.map((o) => o.id)), 'observatory ids must be unique')
  .refine((c) => unique(c.observatories.flatMap((o) => o.telescopes.map((t) => t.id))), 'telescope ids must be unique in the federation');
export type CatalogSeed = z.infer<typeof CatalogSeed>;

export const ScientistSeed = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/),
  name: z.string().min(1).max(200),
  email: z.email(),
  institution: NodeId,
});
export type ScientistSeed = z.infer<typeof ScientistSeed>;

export const ScientistsSeed = z
  .object({ scientists: z.array(ScientistSeed).max(100_000) })
  .refine((s) => unique(s.scientists.map((x) => x.id)), 'scientist ids must be unique');

const SEEDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../seeds');

/** The seeds folder of the source tree (this module runs from dist/seeds). */
export function seedPath(file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(SEEDS_DIR, '..', file);
}

export function readCatalog(file = 'seeds/catalog.json'): CatalogSeed {
  return parseFile(seedPath(file), CatalogSeed);
}

export function readScientists(file = 'seeds/scientists.json'): ScientistSeed[] {
  return parseFile(seedPath(file), ScientistsSeed).scientists;
}

function parseFile<T>(file: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`seed file ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`seed file ${file} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

function unique(values: string[]): boolean {
  return new Set(values).size === values.length;
}
