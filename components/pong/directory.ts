import type { Room } from "./room.js";
import type { Side } from "./physics.js";

/** A seat found in the directory: its room and side. */
export interface SeatRef {
  room: Room;
  side: Side;
}

/**
 * Where the matchmaker finds rooms: by id, by a seated account (rejoin), by a seat's token (rejoin from a new
 * address). The in-memory one serves a single process; the shards' PostgreSQL directory (shards.ts) adds the
 * rooms other processes run.
 */
export interface RoomDirectory {
  readonly size: number;
  rooms(): Iterable<Room>;
  get(id: string): Room | undefined;
  add(room: Room): void;
  remove(room: Room): void;
  /** The seat an account holds, if any. */
  seatOf(bare: string): SeatRef | undefined;
  /** The seat a token opens, if any game still holds it. */
  seatByToken(token: string): SeatRef | undefined;
  /** A seat changed hands (a token rejoin from another account, e.g. a guest's new address). */
  reseat(ref: SeatRef, fromBare: string, toBare: string): void;
}

/** Rooms in this process's memory (the single-process default). */
export class MemoryRoomDirectory implements RoomDirectory {
  /** Kept as a map: operators and tests read it directly. */
  readonly byId = new Map<string, Room>();
  private readonly byBare = new Map<string, SeatRef>();

  get size(): number {
    return this.byId.size;
  }

  rooms(): Iterable<Room> {
    return this.byId.values();
  }

  get(id: string): Room | undefined {
    return this.byId.get(id);
  }

  add(room: Room): void {
    this.byId.set(room.id, room);
    for (const seat of room.seats) if (!seat.bot) this.byBare.set(seat.bare, { room, side: seat.side });
  }

  remove(room: Room): void {
    for (const s of room.seats) if (this.byBare.get(s.bare)?.room === room) this.byBare.delete(s.bare);
    this.byId.delete(room.id);
  }

  seatOf(bare: string): SeatRef | undefined {
    return this.byBare.get(bare);
  }

  seatByToken(token: string): SeatRef | undefined {
    for (const room of this.byId.values()) {
      const seat = room.seats.find((s) => s.token !== undefined && s.token === token);
      if (seat) return { room, side: seat.side };
    }
    return undefined;
  }

  reseat(ref: SeatRef, fromBare: string, toBare: string): void {
    if (this.byBare.get(fromBare)?.room === ref.room) this.byBare.delete(fromBare);
    this.byBare.set(toBare, ref);
  }
}
