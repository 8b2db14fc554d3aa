import { Component, ComponentConfig, DiscoInfo, DiscoItems, type DiscoInfoResult, type DiscoItem, type Element, type IncomingIq, type IncomingMessage,
  type IncomingPresence, Guard, type GuardFn, Inject, Iq, Logger, Message, Metrics, type OnOffline, type OnStart, type OnStop, Presence, rateLimit, RateLimits,
  Sender, StanzaError, xml } from "annex";
import { Arena, type GameResult } from "./arena.js";
import { PongCluster } from "./cluster.js";
import { ClusterStore } from "./cluster-store.js";
import { Leaderboard } from "./leaderboard.js";
import { type PongOptions, PongOptionsSchema } from "./options.js";
import { BOOK_NS, bookAction, bookPaddleY, COMPACT_NS, type Protocol, SHARD_NS } from "./protocol.js";
import { publishResult } from "./results-feed.js";
import { nickOf } from "./names.js";
import { sharedScheduler, takeSummary } from "./scheduler.js";
import { stanzaBytesOver } from "./limits.js";

// annex's parseJid hands out one shared (never mutated) JID per address, so its string is made once, not per
// input twice (guard and route); the same string object also keeps its hash for the rate limiter's and the
// arena's map lookups.
const jidStrings = new WeakMap<object, string>();
function jidString(jid: { toString(): string }): string {
  let text = jidStrings.get(jid);
  if (text === undefined) jidStrings.set(jid, (text = jid.toString()));
  return text;
}

/** The game handlers' guard: a stanza too large is refused with policy-violation, one over budget is dropped. */
const admitGameStanza: GuardFn<IncomingMessage> = (msg, { instance }) => (instance as Pong).admit(msg);

/**
 * The authoritative Pong server (Practical XMPP ch. 9, done properly): many rooms stepped by the process's
 * fixed-step scheduler, server-side physics, matchmaking, spectators, pause on disconnect, anti-cheat, a
 * leaderboard. Speaks the book's `xmpp:game:pong` table and the compact protocol of PROTOCOL.md.
 */
@Component({
  identity: { category: "component", type: "generic", name: "Pong" },
  features: [BOOK_NS, COMPACT_NS],
  options: PongOptionsSchema,
  plugins: [rateLimit()],
})
export class Pong implements OnStart, OnStop, OnOffline {
  readonly arena: Arena;
  readonly leaderboard: Leaderboard;
  /** Set when this entry is one process of a sharded service (options.cluster): the front door or a shard. */
  readonly cluster: PongCluster | undefined;
  private readonly store: ClusterStore | undefined;
  private readonly isGuest: (jid: string) => boolean;
  private running = false;
  private needsTicks = false;
  private detach: (() => void) | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private stopWakeMetrics: (() => void) | undefined;
  private readonly gauges;

  constructor(
    private readonly log: Logger,
    private readonly config: ComponentConfig<PongOptions>,
    private readonly sender: Sender,
    private readonly metrics: Metrics,
    @Inject(RateLimits) limits: RateLimits,
  ) {
    this.gauges = {
      rooms: metrics.gauge("pong_rooms", "Games running"),
      players: metrics.gauge("pong_players", "Players seated in a game"),
      waiting: metrics.gauge("pong_players_waiting", "Players waiting for an opponent"),
      spectators: metrics.gauge("pong_spectators", "Spectators watching a game"),
      inputs: metrics.gauge("pong_inputs_accepted", "Inputs applied since start"),
      snapshots: metrics.gauge("pong_snapshots_sent", "Snapshots sent since start"),
      drops: metrics.gauge("pong_inputs_dropped", "Inputs dropped since start, by reason", ["reason"]),
    };
    const guests = new Set(config.options.guestDomains);
    this.isGuest = (jid) => guests.has(jid.slice(jid.indexOf("@") + 1));
    this.leaderboard = new Leaderboard(config.options.leaderboard, this.isGuest);
    const clustered = config.options.cluster;
    this.store = clustered && new ClusterStore(clustered.postgres);
    // Game stanzas are fire-and-forget. The ones the link takes in one tick settle with one promise (its batch):
    // one handler for all of them, not a promise, closure and microtask per snapshot.
    const notSent = (err: unknown) => this.log.debug({ err }, "game stanza not sent");
    let watched: Promise<void> | undefined;
    const watch = (sent: Promise<void>) => {
      if (sent === watched) return;
      watched = sent;
      sent.catch(notSent);
    };
    const send = (stanza: Element) => watch(this.sender.send(stanza));
    this.arena = new Arena({
      address: clustered && config.domain,
      onReseat: (room, seat) => void this.store?.reseat(room.id, seat.side, { jid: seat.jid, bare: seat.bare, protocol: seat.codec.protocol, contact: seat.via ?? null })
        .catch((err: unknown) => this.log.warn({ err, room: room.id }, "could not write the seat to the directory")),
      domain: config.domain,
      options: config.options,
      // The game stanzas' budget per sender (gameloop.md §d6); `plugins.rate-limit.limits.input` in the config overrides it.
      inputLimit: limits.limit("input", { perSecond: config.options.inputRateHz, burst: config.options.inputBurst }),
      send,
      sendMany: (template, to) => {
        for (const sent of this.sender.fanOut(template, to)) watch(sent);
      },
      onResult: (result) => void this.finished(result),
      onActivity: (active) => this.setTicking(active),
    });
    this.cluster = clustered && this.store && new PongCluster({
      domain: config.domain, options: config.options, cluster: clustered, arena: this.arena, store: this.store, send, log,
      command: (jid, protocol, payload, via) => this.command(jid, protocol, payload, via),
    });
  }

  async onStart(): Promise<void> {
    await this.cluster?.start();
    this.running = true;
    this.setTicking(this.needsTicks);
    const scheduler = sharedScheduler(this.config.options.tickHz);
    const lateness = this.metrics.histogram("pong_tick_lateness_seconds", "How late the loop woke up", [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]);
    this.stopWakeMetrics = scheduler.onWake((ms) => lateness.observe(Math.max(0, ms) / 1000));
    this.metricsTimer = setInterval(() => this.updateGauges(), 1000);
    this.metricsTimer.unref();
    const every = this.config.options.statsSeconds;
    if (every > 0) {
      this.statsTimer = setInterval(() => this.logStats(), every * 1000);
      this.statsTimer.unref();
    }
  }

  /** No player can reach us: pause every game until its players are back (or the grace period ends it). */
  onOffline(): void {
    this.arena.pauseAll();
  }

  async onStop(): Promise<void> {
    await this.cluster?.stop().catch((err: unknown) => this.log.warn({ err }, "could not close the cluster store"));
    this.running = false;
    clearInterval(this.statsTimer);
    clearInterval(this.metricsTimer);
    this.stopWakeMetrics?.();
    this.detach?.();
    this.detach = undefined;
    this.leaderboard.close();
  }

  // --- the book's protocol: <pong xmlns='xmpp:game:pong'><action>…</action>…</pong>, any message type ---

  @Message({ child: "pong", xmlns: BOOK_NS })
  @Guard(admitGameStanza)
  async book(msg: IncomingMessage): Promise<void> {
    const pong = msg.element.getChild("pong", BOOK_NS)!;
    const action = bookAction(pong);
    const kind = action === "playercheckingin" ? "checkIn" : action === "spectate" ? "spectate" : action === "leave" ? "leave" : "play";
    await this.route(msg, "book", pong, kind, kind === "spectate" ? pong.getChildText("room") ?? "" : undefined);
  }

  // --- the compact protocol (PROTOCOL.md) ---

  @Message({ child: "join", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  async join(msg: IncomingMessage): Promise<void> {
    this.rememberNick(msg.element, msg.from.bare().toString());
    await this.route(msg, "compact", msg.element.getChild("join", COMPACT_NS)!, "checkIn");
  }

  @Message({ child: "in", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  // Not async: an input is handled within the call (20 a room-second), without a promise per stanza.
  input(msg: IncomingMessage): void | Promise<void> {
    return this.route(msg, "compact", msg.element.getChild("in", COMPACT_NS)!, "play");
  }

  @Message({ child: "spectate", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  async spectate(msg: IncomingMessage): Promise<void> {
    const el = msg.element.getChild("spectate", COMPACT_NS)!;
    await this.route(msg, "compact", el, "spectate", (el.attrs.r as string | undefined) ?? "");
  }

  @Message({ child: "pause", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  async pauseRequest(msg: IncomingMessage): Promise<void> {
    await this.route(msg, "compact", msg.element.getChild("pause", COMPACT_NS)!, "play");
  }

  @Message({ child: "resume", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  async resumeRequest(msg: IncomingMessage): Promise<void> {
    await this.route(msg, "compact", msg.element.getChild("resume", COMPACT_NS)!, "play");
  }

  @Message({ child: "leave", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  async leave(msg: IncomingMessage): Promise<void> {
    await this.route(msg, "compact", msg.element.getChild("leave", COMPACT_NS)!, "leave");
  }

  /**
   * One game stanza, in either protocol: run here (one process, or a room on this shard), or, in a sharded
   * service, handed to the shard that holds the seat, the room, or the queue's next room (cluster.ts).
   */
  private route(msg: IncomingMessage, protocol: Protocol, payload: Element, kind: "checkIn" | "spectate" | "play" | "leave", roomId?: string): void | Promise<void> {
    const jid = jidString(msg.from);
    const cluster = this.cluster;
    if (!cluster) return this.command(jid, protocol, payload, undefined);
    return this.routeInCluster(cluster, msg, jid, protocol, payload, kind, roomId);
  }

  private async routeInCluster(cluster: PongCluster, msg: IncomingMessage, jid: string, protocol: Protocol, payload: Element, kind: "checkIn" | "spectate" | "play" | "leave", roomId?: string): Promise<void> {
    if (kind === "checkIn") {
      const request = this.checkInRequest(payload);
      const bare = msg.from.bare().toString();
      return cluster.checkIn(jid, bare, protocol, request, payload, this.arena.nicks.nameOf(bare));
    }
    if (kind === "spectate") return cluster.spectate(jid, roomId ?? "", protocol, payload);
    if (kind === "leave") await this.store?.unqueue(jid);
    const shard = this.arena.isHere(jid) ? undefined : await cluster.placeOfJid(jid);
    if (shard) return cluster.toShard(shard, jid, protocol, payload, msg.element.attrs.id as string | undefined);
    return this.command(jid, protocol, payload, undefined);
  }

  /** A check-in's options: `<join opponent='bot' token='…'/>` (the book's check-in has none). */
  private checkInRequest(payload: Element): { opponent?: "bot"; token?: string } {
    if (payload.attrs.xmlns !== COMPACT_NS) return {};
    const opponent = payload.attrs.opponent as string | undefined;
    if (opponent !== undefined && opponent !== "bot") throw new StanzaError("bad-request", { type: "modify", text: `opponent must be "bot" or absent, not ${JSON.stringify(opponent)}` });
    return { opponent: opponent === "bot" ? "bot" : undefined, token: payload.attrs.token as string | undefined };
  }

  /**
   * A game stanza from `jid` for this process's arena: from the player itself, or relayed by the front door
   * (`via`, for a book client, which is then answered through it).
   */
  command(jid: string, protocol: Protocol, payload: Element, via: string | undefined): void | Promise<void> {
    const slash = jid.indexOf("/");
    const bare = slash === -1 ? jid : jid.slice(0, slash);
    const checkingIn = protocol === "book" ? bookAction(payload) === "playercheckingin" : payload.name === "join" && payload.attrs.xmlns === COMPACT_NS;
    if (checkingIn && this.cluster) {
      // A shard's arena only takes seats back; a new player goes into the shared queue (cluster.ts).
      const request = this.checkInRequest(payload);
      if (!this.arena.holdsSeat(bare, request.token)) {
        return this.cluster.checkIn(jid, bare, protocol, request, payload, this.arena.nicks.nameOf(bare), { contact: via ?? this.config.domain });
      }
    }
    if (payload.attrs.xmlns === SHARD_NS) {
      // A presence the front door passed on (RFC 6121 §4.6).
      if (payload.name === "gone") return this.gone(jid);
      return this.arena.available(jid, bare, via);
    }
    if (protocol === "book") {
      const action = bookAction(payload);
      switch (action) {
        case "playercheckingin":
          return this.arena.checkIn(jid, bare, "book", {}, via);
        case "paddleposition":
          return this.arena.input(jid, bookPaddleY(payload), undefined, "book");
        case "spectate":
          return this.watch(jid, payload.getChildText("room") ?? "", "book", via);
        case "leave":
          return this.farewell(jid);
        default:
          throw new StanzaError("bad-request", { type: "modify", text: `unknown action ${JSON.stringify(action)}; expected playercheckingin, paddleposition, spectate or leave` });
      }
    }
    switch (payload.name) {
      case "join":
        return this.arena.checkIn(jid, bare, "compact", this.checkInRequest(payload), via);
      case "in":
        return this.arena.input(jid, payload.attrs.y as string | undefined, payload.attrs.seq as string | undefined, "compact");
      case "spectate":
        return this.watch(jid, (payload.attrs.r as string | undefined) ?? "", "compact", via);
      case "pause":
        return this.arena.requestPause(jid);
      case "resume":
        return this.arena.resumeRequest(jid);
      case "leave":
        return this.farewell(jid);
      default:
        throw new StanzaError("feature-not-implemented", { type: "cancel", text: `no game command ${JSON.stringify(payload.name)}` });
    }
  }

  private watch(jid: string, roomId: string, protocol: Protocol, via: string | undefined): void {
    this.arena.spectate(jid, roomId, protocol, via);
    void this.store?.watch(roomId, jid, protocol, via ?? null).catch((err: unknown) => this.log.warn({ err, room: roomId }, "could not record the spectator"));
  }

  private farewell(jid: string): void {
    this.arena.leave(jid);
    void this.store?.unwatch(jid).catch(() => undefined);
  }

  private gone(jid: string): void {
    this.arena.unavailable(jid);
    void this.store?.unwatch(jid).catch(() => undefined);
  }

  // --- between the processes of a sharded service (PROTOCOL.md §Shards) ---

  /** A stanza relayed by another pong process of this service: to a player who talks to us, or from one whose room is here. */
  @Message({ child: "relay", xmlns: SHARD_NS })
  async relayed(msg: IncomingMessage): Promise<void> {
    const cluster = this.requireCluster();
    await cluster.checkMember(msg.from.toString());
    await cluster.relay(msg.from.toString(), msg.element.getChild("relay", SHARD_NS)!);
  }

  /** A room another process matched, placed here (this process is the least-loaded shard). */
  @Message({ child: "open", xmlns: SHARD_NS })
  async opened(msg: IncomingMessage): Promise<void> {
    const cluster = this.requireCluster();
    await cluster.checkMember(msg.from.toString());
    cluster.open(msg.element.getChild("open", SHARD_NS)!);
  }

  private requireCluster(): PongCluster {
    if (!this.cluster) throw new StanzaError("feature-not-implemented", { type: "cancel", text: "this pong service is a single process (no options.cluster)" });
    return this.cluster;
  }

  // --- presence: RFC 6121 §4.6, directed presence tells us when a player goes offline or comes back ---

  @Presence({ type: "unavailable" })
  async unavailablePresence(presence: IncomingPresence): Promise<void> {
    const jid = presence.from.toString();
    const here = this.arena.isHere(jid);
    this.gone(jid);
    if (this.cluster && !here) await this.cluster.presence(jid, false);
  }

  @Presence({ type: "available" })
  async back(presence: IncomingPresence): Promise<void> {
    // A bad nick in a presence is ignored: presence gets no error reply here (RFC 6121 §4.6 directed presence).
    try {
      this.rememberNick(presence.element, presence.from.bare().toString());
    } catch {
      // keep the name it had
    }
    const bare = presence.from.bare().toString();
    this.arena.available(presence.from.toString(), bare);
    if (this.cluster && !this.arena.directory.seatOf(bare)) await this.cluster.presence(presence.from.toString(), true);
  }

  // --- leaderboard ---

  /** `<leaderboard xmlns='xmpp:game:pong' max='10'/>` → the best players by rating. */
  @Iq({ type: "get", child: "leaderboard", xmlns: BOOK_NS })
  async standings(iq: IncomingIq): Promise<Element> {
    const raw = (iq.payload.attrs.max as string | undefined) ?? "10";
    const max = Number(raw);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw new StanzaError("bad-request", { type: "modify", text: `max must be an integer from 1 to 100, got ${JSON.stringify(raw)}` });
    }
    return xml("leaderboard", { xmlns: BOOK_NS }, ...(await this.top(max)).map((s, i) =>
      xml("player", { rank: String(i + 1), jid: s.jid, rating: String(Math.round(s.rating)), wins: String(s.wins), losses: String(s.losses), ...this.nickAttr(s.jid) })));
  }

  /** `<lobby xmlns='urn:annex:pong:1'/>` → who waits and the running games with names and scores (PROTOCOL.md §Lobby). */
  @Iq({ type: "get", child: "lobby", xmlns: COMPACT_NS })
  async lobbyQuery(): Promise<Element> {
    const { waiting, games } = this.cluster ? { waiting: await this.cluster.waiting(), games: await this.cluster.games() } : this.arena.lobby();
    return xml("lobby", { xmlns: COMPACT_NS },
      ...waiting.map((name) => xml("waiting", { name })),
      ...games.map((g) => xml("game", { r: g.id, left: g.names[0], right: g.names[1], sc: g.score.join(","), watchers: String(g.spectators) })));
  }

  /** XEP-0172 §4.3/§4.2: a nick in a check-in or presence names the player from then on. */
  private rememberNick(stanza: Element, bare: string): void {
    const nick = nickOf(stanza);
    if (nick !== undefined) this.arena.nicks.set(bare, nick);
  }

  /** The leaderboard's optional `nick` (the computer is named too). */
  private nickAttr(jid: string): { nick?: string } {
    const name = this.arena.nicks.nameOf(jid, jid === `bot@${this.config.domain}`);
    return name === jid ? {} : { nick: name };
  }

  /** Chat commands: `top` lists the leaderboard; anything else gets the list of commands. */
  @Message({ type: "chat", child: "body" })
  async chat(msg: IncomingMessage): Promise<Element> {
    const command = (msg.body ?? "").trim().toLowerCase();
    if (command !== "top") return msg.reply({ body: 'Commands: "top" shows the best players. To play, use a Pong client (xmpp:game:pong).' });
    const top = await this.top(10);
    if (top.length === 0) return msg.reply({ body: "No games played yet." });
    // A name with its address: in a chat client the address is what one can write to.
    const who = (jid: string) => (this.nickAttr(jid).nick ? `${this.nickAttr(jid).nick} (${jid})` : jid);
    return msg.reply({ body: top.map((s, i) => `${i + 1}. ${who(s.jid)} ${Math.round(s.rating)} (${s.wins}–${s.losses})`).join("\n") });
  }

  // --- discovery: running games as nodes of the component (XEP-0030 §4) ---

  @DiscoItems()
  async games(node: string | undefined): Promise<DiscoItem[] | undefined> {
    const games = await this.gameList();
    if (node === undefined) return games.map((g) => ({ jid: g.jid, node: g.id, name: g.name }));
    return games.some((g) => g.id === node) ? [] : undefined;
  }

  @DiscoInfo()
  async game(node: string | undefined): Promise<DiscoInfoResult | undefined> {
    if (node === undefined) return undefined;
    const found = (await this.gameList()).find((g) => g.id === node);
    if (!found) return undefined;
    return { identities: [{ category: "component", type: "generic", name: found.name }], features: [BOOK_NS, COMPACT_NS] };
  }

  /** Running games for disco: this process's, or every shard's from the shared directory (addressed at the front door). */
  private async gameList(): Promise<{ jid: string; id: string; name: string }[]> {
    if (!this.cluster) return this.arena.list().map((g) => ({ jid: this.config.domain, ...g }));
    const front = this.config.options.cluster!.frontDoor;
    return (await this.cluster.games()).map((g) => ({ jid: front, id: g.id, name: `${g.names[0]} vs ${g.names[1]} (${g.score.join("–")})` }));
  }

  /** The leaderboard's best: the shared one in PostgreSQL for a sharded service, else this process's SQLite. */
  private async top(max: number) {
    return this.store ? this.store.top(max) : this.leaderboard.top(max);
  }

  /** Size cap, then the sender's token bucket; false = drop silently (over budget). The game handlers' guard. */
  admit(msg: IncomingMessage): boolean {
    const bytes = stanzaBytesOver(msg.element, this.config.options.maxStanzaBytes);
    if (bytes !== undefined && bytes > this.config.options.maxStanzaBytes) {
      this.arena.drops.oversized++;
      throw new StanzaError("policy-violation", { type: "modify", text: `game stanza of ${bytes} bytes exceeds the limit of ${this.config.options.maxStanzaBytes}` });
    }
    return this.arena.allow(jidString(msg.from));
  }

  private async finished(result: GameResult): Promise<void> {
    const { replay, ...summary } = result;
    this.log.info({ ...summary, ticks: replay?.ticks, finishedAt: result.finishedAt.toISOString() }, "game over");
    // The room leaves the shared directory first (a check-in right after the game must not be sent back to it),
    // even when its result cannot be stored: it is over either way. A single process stays synchronous here:
    // its result is stored and published before anyone is told.
    if (this.store) await this.store.removeRoom(result.room).catch((err: unknown) => this.log.warn({ err, room: result.room }, "could not remove the finished room from the directory"));
    try {
      if (this.store) await this.store.record(result, this.isGuest);
      else this.leaderboard.record(result);
    } catch (err) {
      this.log.error({ err, room: result.room }, "could not record the game on the leaderboard");
    }
    const feed = this.config.options.resultsFeed;
    if (feed) void publishResult(this.sender, feed, result).catch((err: unknown) => this.log.warn({ err, room: result.room, service: feed.service }, "could not publish the result"));
  }

  /** Gauges for /metrics, refreshed every second (and readable in tests). */
  updateGauges(): void {
    const a = this.arena;
    let players = 0;
    let spectators = 0;
    for (const room of a.rooms.values()) {
      players += room.seats.filter(Boolean).length;
      spectators += room.spectators.size;
    }
    this.gauges.rooms.set(a.rooms.size);
    this.gauges.players.set(players);
    this.gauges.waiting.set(a.waitingCount);
    this.gauges.spectators.set(spectators);
    this.gauges.inputs.set(a.inputsAccepted);
    this.gauges.snapshots.set(a.snapshotsSent);
    for (const [reason, count] of Object.entries(a.drops)) this.gauges.drops.set(count as number, { reason });
  }

  /** The loop's health for operators: shared-scheduler percentiles (per process), this component's rooms and drops. */
  private logStats(): void {
    const loop = takeSummary(sharedScheduler(this.config.options.tickHz));
    const a = this.arena;
    this.log.info({ loop, rooms: a.rooms.size, waiting: a.waitingCount, inputsAccepted: a.inputsAccepted, snapshotsSent: a.snapshotsSent, drops: a.drops }, "pong stats");
  }

  /** Joins the process's shared scheduler while there is anything to step (and the component runs). */
  private setTicking(active: boolean): void {
    this.needsTicks = active;
    if (active && this.running && !this.detach) {
      const stepDuration = this.metrics.histogram("pong_step_duration_seconds", "Time to step every room of the component once", [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02]);
      this.detach = sharedScheduler(this.config.options.tickHz).add({
        step: () => {
          const t0 = performance.now();
          this.arena.step();
          stepDuration.observe((performance.now() - t0) / 1000);
        },
      });
    }
    else if ((!active || !this.running) && this.detach) {
      this.detach();
      this.detach = undefined;
    }
  }
}
