import { randomInt } from "node:crypto";
import { type Element, type Logger, StanzaError, xml } from "annex";
import { type Arena, newToken, type RoomSpec, type SeatSpec } from "./arena.js";
import type { ClusterStore, ListenerRow, QueuedRow, SeatRow } from "./cluster-store.js";
import { codecFor } from "./codecs.js";
import type { ClusterOptions, PongOptions } from "./options.js";
import { gameMessage, HINTS_NS, type Protocol, relayMessage, SHARD_NS } from "./protocol.js";

const bareOf = (jid: string) => jid.split("/")[0]!;

export interface ClusterDeps {
  domain: string;
  options: PongOptions;
  cluster: ClusterOptions;
  arena: Arena;
  store: ClusterStore;
  send(stanza: Element): void;
  log: Logger;
  /** Runs a game stanza here, as if `jid` had sent it to this domain (`via`: the process relaying for a book client). */
  command(jid: string, protocol: Protocol, payload: Element, via: string | undefined): void | Promise<void>;
}

/**
 * One process of a sharded pong service (README.md §Shards, PROTOCOL.md §Shards). Every process is either the
 * front door (the service's public domain, run active/standby) or a shard (its own domain, runs rooms). Both
 * match players through the queue in PostgreSQL and place each new room on the least-loaded live shard;
 * stanzas for a room elsewhere are forwarded to its shard over XMPP (`<relay/>`), and a shard's payloads for
 * book clients come back through the front door the same way. Nothing but PostgreSQL and the XMPP server's
 * routing is shared: no process talks to another directly.
 */
export class PongCluster {
  readonly isFrontDoor: boolean;
  /** Domains allowed to relay and open rooms here: the front door and every shard seen alive. */
  private readonly members = new Set<string>();
  /** Where a full JID plays or watches, when not here (front door: saves a lookup per relayed paddle input). */
  private readonly placeOf = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly deps: ClusterDeps) {
    this.isFrontDoor = deps.domain === deps.cluster.frontDoor;
    this.members.add(deps.cluster.frontDoor);
  }

  async start(): Promise<void> {
    const { store, domain, cluster } = this.deps;
    await store.init();
    if (!this.isFrontDoor) {
      // A shard starting (again) runs nothing: rooms the directory still gives it died with its last process.
      const { listeners } = await store.forgetShards(cluster.deadAfterMs, domain);
      this.tellLost(listeners);
      await this.beat();
    }
    await this.refreshMembers();
    this.timer = setInterval(() => void this.tick(), this.isFrontDoor ? Math.min(1000, cluster.heartbeatMs) : cluster.heartbeatMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      // A shard that stops ends its games now (the link still sends during onStop) instead of after deadAfterMs.
      if (!this.isFrontDoor) this.tellLost((await this.deps.store.forgetShards(this.deps.cluster.deadAfterMs, this.deps.domain)).listeners);
    } finally {
      await this.deps.store.close();
    }
  }

  /** Shards heartbeat their load; the front door forgets dead shards (telling their players) and runs the queue's clock. */
  private async tick(): Promise<void> {
    if (this.busy || !this.timer) return;
    this.busy = true;
    try {
      if (this.isFrontDoor) {
        const { shards, listeners } = await this.deps.store.forgetShards(this.deps.cluster.deadAfterMs);
        if (shards.length > 0) {
          this.deps.log.warn({ shards, told: listeners.length }, "pong shards missed their heartbeats: their games are lost");
          for (const [jid, shard] of this.placeOf) if (shards.includes(shard)) this.placeOf.delete(jid);
        }
        this.tellLost(listeners);
        await this.queueClock();
      } else {
        await this.beat();
      }
      await this.refreshMembers();
    } catch (err) {
      this.deps.log.warn({ err }, "pong cluster housekeeping failed; retrying");
    } finally {
      this.busy = false;
    }
  }

  private async beat(): Promise<void> {
    const scores = [...this.deps.arena.rooms.values()].map((r) => ({ id: r.id, score: r.game.score.join(",") }));
    await this.deps.store.heartbeat(this.deps.domain, scores);
  }

  private async refreshMembers(): Promise<void> {
    for (const s of await this.deps.store.liveShards(this.deps.cluster.deadAfterMs)) this.members.add(s.domain);
  }

  /** Only the service's own processes may relay stanzas or hand rooms to this one. */
  async checkMember(from: string): Promise<void> {
    if (this.members.has(from)) return;
    await this.refreshMembers();
    if (!this.members.has(from)) throw new StanzaError("forbidden", { type: "auth", text: `${from} is not a pong process of this service` });
  }

  /** The game is gone with its shard: `gameover` reason `server-lost`, unrated (PROTOCOL.md §Shards). */
  private tellLost(listeners: ListenerRow[]): void {
    for (const l of listeners) {
      const [a, b] = l.score.split(",").map(Number);
      this.toPlayer(l.jid, codecFor(l.protocol).event({ k: "lost", score: [a ?? 0, b ?? 0] }), l.contact);
    }
  }

  /** A payload to a player: from this domain, or relayed by the process the player talks to. */
  private toPlayer(jid: string, payload: Element, contact: string | null | undefined): void {
    const { domain } = this.deps;
    this.deps.send(!contact || contact === domain || this.isFrontDoor ? gameMessage(domain, jid, payload) : relayMessage(domain, contact, jid, payload));
  }

  // --- check-in and matchmaking ---

  /**
   * A check-in that reached this process: rejoin wherever the seat is (token or account), else meet the
   * longest-waiting player of the shared queue or wait in it; the room goes to the least-loaded live shard.
   */
  async checkIn(jid: string, bare: string, protocol: Protocol, request: { opponent?: "bot"; token?: string }, payload: Element, name: string,
    forwarded?: { contact: string }): Promise<void> {
    const { store } = this.deps;
    // A check-in forwarded here for a seat this shard no longer has (the game ended while the directory still
    // listed it): a fresh check-in, answered through the process the player wrote to, never forwarded again.
    const domain = forwarded?.contact ?? this.deps.domain;
    if (forwarded) {
      if (request.token !== undefined) throw new StanzaError("item-not-found", { type: "cancel", text: "no game holds this token: it ended, or the grace period passed" });
      return this.matchOrQueue({ jid, bare, protocol, contact: domain, name }, request);
    }
    if (request.token !== undefined) {
      const held = await store.roomOfSeat("token", request.token);
      if (!held) throw new StanzaError("item-not-found", { type: "cancel", text: "no game holds this token: it ended, or the grace period passed" });
      return this.toShard(held.room.shard, jid, protocol, payload);
    }
    const seated = await store.roomOfSeat("bare", bare);
    if (seated) return this.toShard(seated.room.shard, jid, protocol, payload);
    return this.matchOrQueue({ jid, bare, protocol, contact: domain, name }, request);
  }

  private async matchOrQueue(me: Omit<QueuedRow, "waitedMs">, request: { opponent?: "bot" }): Promise<void> {
    const { store } = this.deps;
    const { jid, bare, protocol, contact: domain } = me;
    // Fail early, before taking an opponent out of the queue; the room's shard is chosen when it is placed.
    await this.pickShard();
    if (request.opponent === "bot") {
      await store.unqueue(jid);
      return this.place({ ...me, waitedMs: 0 }, "bot");
    }
    const codec = codecFor(protocol);
    if (await store.queuedBare(bare)) {
      await store.enqueue(me);
      return this.toPlayer(jid, codec.queued(0), domain);
    }
    const opponent = await store.meetOrWait(me);
    if (!opponent) return this.toPlayer(jid, codec.queued(0), domain);
    this.toPlayer(jid, codec.queued(1), domain);
    await this.place(opponent, { ...me, waitedMs: 0 });
  }

  private async pickShard(): Promise<string> {
    const shard = await this.deps.store.leastLoaded(this.deps.cluster.deadAfterMs, this.deps.options.maxRooms);
    // The book's answer to one check-in too many (Practical XMPP ch. 9): every live shard is full, or none is alive.
    if (!shard) throw new StanzaError("conflict", { type: "cancel", text: "Game is currently full" });
    return shard;
  }

  /**
   * Records the room in the directory on the least-loaded live shard, then has that shard run it (an `<open/>`
   * over XMPP, or here). No shard left (they died or filled since the check-in): the players are told "full".
   */
  private async place(left: QueuedRow, right: QueuedRow | "bot"): Promise<void> {
    const { store, domain, options, cluster } = this.deps;
    const id = await store.nextRoomId();
    const seed = options.seed !== undefined ? options.seed + Number(id.slice(1)) : randomInt(0, 2 ** 32);
    let seats: [SeatSpec, SeatSpec] = [{ bot: true }, { bot: true }];
    const shard = await store.placeRoom(id, cluster.deadAfterMs, options.maxRooms, (shard) => {
      // A book client hears only from the address it checked in with, which relays for the shard; a compact client is told `at`.
      const seat = (q: QueuedRow): Extract<SeatSpec, { jid: string }> =>
        ({ jid: q.jid, bare: q.bare, protocol: q.protocol, via: q.protocol === "book" && q.contact !== shard ? q.contact : undefined, token: newToken(),
          nick: q.name !== q.bare ? q.name : undefined });
      seats = [seat(left), right === "bot" ? { bot: true } : seat(right)];
      return seats.map((s, side) => s.bot
        ? { side: side as 0 | 1, jid: `bot@${shard}`, bare: `bot@${shard}`, protocol: "book" as const, contact: null, token: null, name: "the computer", bot: true }
        : { side: side as 0 | 1, jid: s.jid, bare: s.bare, protocol: s.protocol, contact: s.via ?? null, token: s.token, name: side === 0 ? left.name : (right as QueuedRow).name, bot: false });
    });
    if (shard === undefined) {
      const full = "Game is currently full";
      for (const q of right === "bot" ? [left] : [left, right]) this.toPlayer(q.jid, codecFor(q.protocol).queueTimeout(full), q.contact);
      throw new StanzaError("conflict", { type: "cancel", text: full });
    }
    for (const s of seats) if (!s.bot && s.via === domain) this.placeOf.set(s.jid, shard);
    const spec: RoomSpec = { id, seed, seats };
    if (shard === domain) return this.deps.arena.openRoom(spec);
    this.deps.send(xml("message", { from: domain, to: shard, type: "headline" },
      xml("open", { xmlns: SHARD_NS, r: id, seed: String(seed) }, ...seats.map((s, side) => s.bot
        ? xml("seat", { side: String(side), bot: "true" })
        : xml("seat", { side: String(side), jid: s.jid, bare: s.bare, protocol: s.protocol, token: s.token, ...(s.via ? { via: s.via } : {}), ...(s.nick ? { nick: s.nick } : {}) }))),
      xml("no-store", { xmlns: HINTS_NS })));
  }

  /** `<open/>` from a member: run the room here. */
  open(el: Element): void {
    const seats = el.getChildren("seat").map((s): SeatSpec => s.attrs.bot === "true"
      ? { bot: true }
      : { jid: String(s.attrs.jid), bare: String(s.attrs.bare), protocol: s.attrs.protocol === "book" ? "book" : "compact", token: String(s.attrs.token), via: s.attrs.via as string | undefined,
        nick: s.attrs.nick as string | undefined });
    if (seats.length !== 2) throw new StanzaError("bad-request", { type: "modify", text: "open needs two seats" });
    this.deps.arena.openRoom({ id: String(el.attrs.r), seed: Number(el.attrs.seed), seats: [seats[0]!, seats[1]!] });
  }

  /** Once a second on the front door: computer opponents for lonely players, the queue timeout (Matchmaker.housekeeping). */
  private async queueClock(): Promise<void> {
    const { store, options } = this.deps;
    const bot = options.bot;
    for (const w of await store.queue()) {
      if (bot && w.waitedMs >= bot.afterSeconds * 1000) {
        const shard = await store.leastLoaded(this.deps.cluster.deadAfterMs, options.maxRooms);
        if (shard && (await store.unqueue(w.jid))) await this.place(w, "bot").catch((err: unknown) => this.deps.log.warn({ err }, "no shard for a bot game"));
      } else if (w.waitedMs >= options.queueTimeoutSeconds * 1000 && (await store.unqueue(w.jid))) {
        this.toPlayer(w.jid, codecFor(w.protocol).queueTimeout(`no opponent within ${options.queueTimeoutSeconds} s; check in again to keep waiting`), w.contact);
      }
    }
  }

  // --- stanzas for rooms elsewhere ---

  /** Where `jid` plays or watches, if on another shard. */
  async placeOfJid(jid: string): Promise<string | undefined> {
    const known = this.placeOf.get(jid);
    if (known) return known;
    const seat = await this.deps.store.roomOfSeat("jid", jid);
    const shard = seat?.room.shard ?? (await this.deps.store.watchedBy(jid));
    if (shard && shard !== this.deps.domain) this.placeOf.set(jid, shard);
    return shard === this.deps.domain ? undefined : shard;
  }

  async spectate(jid: string, roomId: string, protocol: Protocol, payload: Element): Promise<void> {
    const room = await this.deps.store.roomById(roomId);
    if (!room) throw new StanzaError("item-not-found", { text: `no running game with id ${JSON.stringify(roomId)}` });
    return this.toShard(room.shard, jid, protocol, payload);
  }

  /** Runs the stanza here if the room is here, else forwards it to the room's shard. */
  async toShard(shard: string, jid: string, protocol: Protocol, payload: Element, id?: string): Promise<void> {
    if (shard === this.deps.domain) return this.deps.command(jid, protocol, payload, undefined);
    if (protocol === "book" || payload.attrs.xmlns === SHARD_NS) this.placeOf.set(jid, shard);
    this.deps.send(xml("message", { from: this.deps.domain, to: shard, type: "headline" },
      xml("relay", { xmlns: SHARD_NS, from: jid, protocol, ...(id ? { id } : {}) }, payload), xml("no-store", { xmlns: HINTS_NS })));
  }

  /** A player's presence reached this process while its seat is on another shard: pass it on (RFC 6121 §4.6). */
  async presence(jid: string, available: boolean): Promise<void> {
    if (!available) await this.deps.store.unqueue(jid);
    const shard = available ? (await this.deps.store.roomOfSeat("bare", bareOf(jid)))?.room.shard : await this.placeOfJid(jid);
    if (shard && shard !== this.deps.domain) await this.toShard(shard, jid, "book", xml(available ? "back" : "gone", { xmlns: SHARD_NS }));
  }

  /**
   * `<relay/>` from a member. With `to`: a payload for a player who talks to this process (send it on as ours).
   * With `from`: a player's stanza for a room here (run it; a refusal goes back the same way, RFC 6120 §8.3).
   */
  async relay(fromDomain: string, el: Element): Promise<void> {
    const payload = el.getChildElements()[0];
    if (!payload) throw new StanzaError("bad-request", { type: "modify", text: "relay needs a payload" });
    const to = el.attrs.to as string | undefined;
    const { domain } = this.deps;
    if (to !== undefined) {
      if (payload.name === "error") {
        this.deps.send(xml("message", { from: domain, to, type: "error", ...(el.attrs.id ? { id: el.attrs.id as string } : {}) }, payload));
        return;
      }
      if (payload.getChildText("action") === "gameover") this.placeOf.delete(to);
      this.deps.send(gameMessage(domain, to, payload));
      return;
    }
    const player = String(el.attrs.from);
    const protocol: Protocol = el.attrs.protocol === "book" ? "book" : "compact";
    try {
      // Book clients hear only from the address they wrote to, and spectators (either protocol) never send game
      // stanzas, so both are answered through the relaying process; a compact player talks to this shard itself.
      const via = protocol === "book" || payload.name === "spectate" ? fromDomain : undefined;
      await this.deps.command(player, protocol, payload, via);
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      this.deps.send(xml("message", { from: domain, to: fromDomain, type: "headline" },
        xml("relay", { xmlns: SHARD_NS, to: player, ...(el.attrs.id ? { id: el.attrs.id as string } : {}) }, err.toElement())));
    }
  }

  /** The lobby and disco#items from the shared directory: every shard's games. */
  async games(): Promise<{ id: string; names: [string, string]; score: [number, number]; spectators: number }[]> {
    const [rooms, watchers] = await Promise.all([this.deps.store.rooms(), this.deps.store.watcherCounts()]);
    return rooms.map((r) => {
      const [a, b] = r.score.split(",").map(Number);
      return { id: r.id, names: [r.seats[0]?.name ?? "?", r.seats[1]?.name ?? "?"], score: [a ?? 0, b ?? 0], spectators: watchers.get(r.id) ?? 0 };
    });
  }

  async waiting(): Promise<string[]> {
    return (await this.deps.store.queue()).map((w) => w.name);
  }
}
