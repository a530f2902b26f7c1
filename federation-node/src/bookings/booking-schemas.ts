// The public booking API's request and response shapes: one zod schema is both the
// validator and the TypeScript type, and the OpenAPI document is generated from them.
import { z } from 'zod';
import { BookingItemInput } from '../domain/slots.js';

/** A hard ceiling that the schema enforces; the configurable ITEMS_PER_BOOKING_MAX is checked after it. */
export const ITEMS_SCHEMA_MAX = 100;

/** A hard ceiling that the schema enforces; the configurable BOOKING_ALTERNATIVES_PER_ITEM_MAX is checked after it. */
export const ALTERNATIVES_SCHEMA_MAX = 10;

export const BookingItemRequest = BookingItemInput.extend({
  alternatives: z
    .array(BookingItemInput)
    .max(ALTERNATIVES_SCHEMA_MAX)
    .optional()
    .describe('Acceptable replacements for this item, most preferred first (another telescope, another slot). The federation books the first combination of items that is wholly free, atomically, with the request\'s one fairness timestamp.'),
});

export const CreateBookingRequest = z.strictObject({
  scientistId: z.string().min(1).max(64).describe('The scientist the booking is for.'),
  items: z.array(BookingItemRequest).min(1, 'a booking needs at least one item').max(ITEMS_SCHEMA_MAX),
  note: z.string().max(500).optional().describe('Free text kept with the booking.'),
  suggestAlternatives: z.boolean().optional().describe('On 409 slot-taken, also suggest the nearest free alternatives (reads the owners\' availability; always done when an item lists alternatives).'),
});
export type CreateBookingRequest = z.infer<typeof CreateBookingRequest>;

export const BookingStatus = z.enum(['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED']);

export const PartState = z.enum(['preparing', 'confirming', 'confirmed', 'releasing', 'released']);

export const Link = z.object({ href: z.string(), method: z.string().optional() });

export const BookingView = z.object({
  id: z.string(),
  status: BookingStatus,
  scientistId: z.string(),
  coordinator: z.string().describe('The observatory that coordinates this booking (its id prefixes the booking id).'),
  createdAt: z.string(),
  updatedAt: z.string(),
  requestedAt: z.string().describe('When the request arrived, on the federation\'s synchronised clock: the fairness timestamp.'),
  items: z.array(z.object({ telescopeId: z.string(), observatoryId: z.string(), start: z.string(), end: z.string() })),
  observatories: z.array(z.object({ observatoryId: z.string(), state: PartState })),
  reason: z.unknown().optional(),
  _links: z.record(z.string(), z.union([Link, z.array(Link)])),
});
export type BookingView = z.infer<typeof BookingView>;

export const ListBookingsQuery = z.strictObject({
  scientist: z.string().min(1).max(64).optional(),
  status: BookingStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
