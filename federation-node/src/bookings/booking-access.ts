// Reading and cancelling a booking this node coordinates, on behalf of a principal: the one
// place that decides who may see or cancel what, whether the principal came with a bearer
// token here or was vouched for by another observatory in a signed call
// (http/forwarding-routes.ts).
import type { NodeParts } from '../node-parts.js';
import { checkBookingCanceller, checkBookingReader } from '../http/auth.js';
import { HttpProblem } from '../http/problem.js';
import { bookingView } from '../http/views.js';
import type { Principal } from '../security/principals.js';
import type { BookingRecord } from '../storage/booking-repository.js';

export class BookingAccess {
  constructor(private readonly parts: NodeParts) {}

  async read(bookingId: string, principal: Principal | undefined) {
    const booking = await this.find(bookingId);
    checkBookingReader(principal, booking, this.parts.directory.selfId);
    return this.viewOf(booking);
  }

  async cancel(bookingId: string, principal: Principal | undefined) {
    const found = await this.find(bookingId);
    checkBookingCanceller(principal, found);
    return this.viewOf(await this.parts.bookingService.cancel(found.id));
  }

  viewOf(booking: BookingRecord) {
    const txId = booking.status === 'CANCELLED' ? booking.cancelTxId : booking.id;
    const tx = txId ? this.parts.engine.coordinator.view(txId) : undefined;
    return bookingView(booking, this.parts.directory, tx);
  }

  private async find(bookingId: string): Promise<BookingRecord> {
    const booking = await this.parts.bookings.find(bookingId);
    if (!booking) throw new HttpProblem('not-found', `no booking ${bookingId}`);
    return booking;
  }
}
