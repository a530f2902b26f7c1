// The node's tables, as TypeORM entity schemas (no decorators: every column has an explicit
// type, so any TypeScript runner works). docs/MODELS.md describes each one.
import { EntitySchema } from 'typeorm';
import type { Telescope } from '../domain/slots.js';

export interface ObservatoryRow {
  id: string;
  name: string;
  site: string;
  timezone: string;
  latitude: number;
  longitude: number;
}

/** A telescope row has exactly the domain's shape. */
export type TelescopeRow = Telescope;

export interface ScientistRow {
  id: string;
  name: string;
  email: string;
  institution: string;
  tokenHash: string | null;
}

export type BookingStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';

/** A booking as its coordinator records it (the node that received the request). */
export interface BookingRow {
  id: string;
  scientistId: string;
  status: BookingStatus;
  createdAt: string;
  updatedAt: string;
  timestampMs: number;
  /** JSON: the items, in the order the scientist gave them. */
  itemsJson: string;
  /** JSON: why the booking was rejected, or its last cancellation refused. */
  reasonJson: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** The cancellation transaction in progress or done, if any. */
  cancelTxId: string | null;
}

export type ClaimState = 'HELD' | 'BOOKED' | 'RELEASING';

/** One telescope slot taken by a booking. The primary key makes a double booking impossible. */
export interface SlotClaimRow {
  telescopeId: string;
  slotStart: string;
  slotEnd: string;
  bookingId: string;
  txId: string;
  state: ClaimState;
}

export interface ParticipantTxRow {
  txId: string;
  kind: string;
  coordinatorId: string;
  participantsJson: string;
  timestampMs: number;
  deadlineMs: number;
  payloadJson: string;
  state: string;
  reasonJson: string | null;
  heuristic: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  /** JSON: the acceptors the prepare named; null when it named none. */
  acceptorsJson: string | null;
}

/** An acceptor's promise and accepted value for one transaction (Paxos Commit, docs/PROTOCOL.md §20). */
export interface AcceptorTxRow {
  txId: string;
  participantsJson: string;
  acceptorsJson: string;
  promisedRound: number;
  promisedNode: string;
  acceptedRound: number | null;
  acceptedNode: string | null;
  acceptedValue: string | null;
  /** With COMMIT: the coordinator's commit proof (docs/PROTOCOL.md §20, "Commit proofs"). */
  acceptedProof: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface CoordinatorTxRow {
  txId: string;
  kind: string;
  participantsJson: string;
  timestampMs: number;
  decision: string;
  ackedJson: string;
  state: string;
  createdAtMs: number;
  updatedAtMs: number;
}

const text = { type: 'text' as const };
const nullableText = { type: 'text' as const, nullable: true };
const integer = { type: 'integer' as const };
const real = { type: 'real' as const };

export const ObservatoryEntity = new EntitySchema<ObservatoryRow>({
  name: 'Observatory',
  tableName: 'observatories',
  columns: {
    id: { ...text, primary: true },
    name: text,
    site: text,
    timezone: text,
    latitude: real,
    longitude: real,
  },
});

export const TelescopeEntity = new EntitySchema<TelescopeRow>({
  name: 'Telescope',
  tableName: 'telescopes',
  columns: {
    id: { ...text, primary: true },
    observatoryId: { ...text, name: 'observatory_id' },
    name: text,
    apertureM: { ...real, name: 'aperture_m' },
    instrument: text,
    slotMinutes: { ...integer, name: 'slot_minutes' },
    bookableFromHourUtc: { ...integer, name: 'bookable_from_hour_utc' },
    bookableToHourUtc: { ...integer, name: 'bookable_to_hour_utc' },
  },
});

export const ScientistEntity = new EntitySchema<ScientistRow>({
  name: 'Scientist',
  tableName: 'scientists',
  columns: {
    id: { ...text, primary: true },
    name: text,
    email: text,
    institution: text,
    tokenHash: { ...nullableText, name: 'token_hash' },
  },
});

export const BookingEntity = new EntitySchema<BookingRow>({
  name: 'Booking',
  tableName: 'bookings',
  columns: {
    id: { ...text, primary: true },
    scientistId: { ...text, name: 'scientist_id' },
    status: text,
    createdAt: { ...text, name: 'created_at' },
    updatedAt: { ...text, name: 'updated_at' },
    timestampMs: { ...integer, name: 'timestamp_ms' },
    itemsJson: { ...text, name: 'items_json' },
    reasonJson: { ...nullableText, name: 'reason_json' },
    idempotencyKey: { ...nullableText, name: 'idempotency_key' },
    requestHash: { ...nullableText, name: 'request_hash' },
    cancelTxId: { ...nullableText, name: 'cancel_tx_id' },
  },
});

export const SlotClaimEntity = new EntitySchema<SlotClaimRow>({
  name: 'SlotClaim',
  tableName: 'slot_claims',
  columns: {
    telescopeId: { ...text, name: 'telescope_id', primary: true },
    slotStart: { ...text, name: 'slot_start', primary: true },
    slotEnd: { ...text, name: 'slot_end' },
    bookingId: { ...text, name: 'booking_id' },
    txId: { ...text, name: 'tx_id' },
    state: text,
  },
});

export const ParticipantTxEntity = new EntitySchema<ParticipantTxRow>({
  name: 'ParticipantTx',
  tableName: 'participant_transactions',
  columns: {
    txId: { ...text, name: 'tx_id', primary: true },
    kind: text,
    coordinatorId: { ...text, name: 'coordinator_id' },
    participantsJson: { ...text, name: 'participants_json' },
    timestampMs: { ...integer, name: 'timestamp_ms' },
    deadlineMs: { ...integer, name: 'deadline_ms' },
    payloadJson: { ...text, name: 'payload_json' },
    state: text,
    reasonJson: { ...nullableText, name: 'reason_json' },
    heuristic: { type: 'boolean' },
    createdAtMs: { ...integer, name: 'created_at_ms' },
    updatedAtMs: { ...integer, name: 'updated_at_ms' },
    acceptorsJson: { ...nullableText, name: 'acceptors_json' },
  },
});

export const AcceptorTxEntity = new EntitySchema<AcceptorTxRow>({
  name: 'AcceptorTx',
  tableName: 'acceptor_transactions',
  columns: {
    txId: { ...text, name: 'tx_id', primary: true },
    participantsJson: { ...text, name: 'participants_json' },
    acceptorsJson: { ...text, name: 'acceptors_json' },
    promisedRound: { ...integer, name: 'promised_round' },
    promisedNode: { ...text, name: 'promised_node' },
    acceptedRound: { ...integer, nullable: true, name: 'accepted_round' },
    acceptedNode: { ...nullableText, name: 'accepted_node' },
    acceptedValue: { ...nullableText, name: 'accepted_value' },
    acceptedProof: { ...nullableText, name: 'accepted_proof' },
    createdAtMs: { ...integer, name: 'created_at_ms' },
    updatedAtMs: { ...integer, name: 'updated_at_ms' },
  },
});

export const CoordinatorTxEntity = new EntitySchema<CoordinatorTxRow>({
  name: 'CoordinatorTx',
  tableName: 'coordinator_transactions',
  columns: {
    txId: { ...text, name: 'tx_id', primary: true },
    kind: text,
    participantsJson: { ...text, name: 'participants_json' },
    timestampMs: { ...integer, name: 'timestamp_ms' },
    decision: text,
    ackedJson: { ...text, name: 'acked_json' },
    state: text,
    createdAtMs: { ...integer, name: 'created_at_ms' },
    updatedAtMs: { ...integer, name: 'updated_at_ms' },
  },
});

export const ALL_ENTITIES = [
  ObservatoryEntity,
  TelescopeEntity,
  ScientistEntity,
  BookingEntity,
  SlotClaimEntity,
  ParticipantTxEntity,
  CoordinatorTxEntity,
  AcceptorTxEntity,
];
