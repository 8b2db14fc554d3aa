import { Component, ComponentConfig, DiscoInfo, DiscoItems, type DiscoInfoResult, type DiscoItem, type Element, type IncomingIq, type IncomingMessage,
  type IncomingPresence, Guard, type GuardFn, Inject, Iq, Logger, Message, Metrics, type OnOffline, type OnStart, type OnStop, Presence, rateLimit, RateLimits,
  Sender, StanzaError, xml } from "annex";
import { Arena, type GameResult } from "./arena.js";
import { Leaderboard } from "./leaderboard.js";
import { type PongOptions, PongOptionsSchema } from "./options.js";
import { BOOK_NS, bookAction, bookPaddleY, COMPACT_NS, type Protocol } from "./protocol.js";
import { publishResult } from "./results-feed.js";
import { nickOf } from "./names.js";
import { sharedScheduler, takeSummary } from "./scheduler.js";

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
    this.leaderboard = new Leaderboard(config.options.leaderboard, (jid) => guests.has(jid.slice(jid.indexOf("@") + 1)));
    this.arena = new Arena({
      domain: config.domain,
      options: config.options,
      // The game stanzas' budget per sender (gameloop.md §d6); `plugins.rate-limit.limits.input` in the config overrides it.
      inputLimit: limits.limit("input", { perSecond: config.options.inputRateHz, burst: config.options.inputBurst }),
      send: (stanza) => void this.sender.send(stanza).catch((err: unknown) => this.log.debug({ err }, "game stanza not sent")),
      sendMany: (template, to) => {
        for (const sent of this.sender.fanOut(template, to)) sent.catch((err: unknown) => this.log.debug({ err }, "game stanza not sent"));
      },
      onResult: (result) => this.finished(result),
      onActivity: (active) => this.setTicking(active),
    });
  }

  onStart(): void {
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

  onStop(): void {
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
  book(msg: IncomingMessage): void {
    const pong = msg.element.getChild("pong", BOOK_NS)!;
    const { full, bare } = this.who(msg);
    const action = bookAction(pong);
    switch (action) {
      case "playercheckingin":
        return this.arena.checkIn(full, bare, "book");
      case "paddleposition":
        return this.arena.input(full, bookPaddleY(pong), undefined, "book");
      case "spectate":
        return this.arena.spectate(full, pong.getChildText("room") ?? "", "book");
      case "leave":
        return this.arena.leave(full);
      default:
        throw new StanzaError("bad-request", { type: "modify", text: `unknown action ${JSON.stringify(action)}; expected playercheckingin, paddleposition, spectate or leave` });
    }
  }

  // --- the compact protocol (PROTOCOL.md) ---

  @Message({ child: "join", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  join(msg: IncomingMessage): void {
    const { full, bare } = this.who(msg);
    const el = msg.element.getChild("join", COMPACT_NS)!;
    const opponent = el.attrs.opponent as string | undefined;
    if (opponent !== undefined && opponent !== "bot") throw new StanzaError("bad-request", { type: "modify", text: `opponent must be "bot" or absent, not ${JSON.stringify(opponent)}` });
    const token = el.attrs.token as string | undefined;
    this.rememberNick(msg.element, bare);
    this.arena.checkIn(full, bare, "compact", { opponent: opponent === "bot" ? "bot" : undefined, token });
  }

  @Message({ child: "in", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  input(msg: IncomingMessage): void {
    const el = msg.element.getChild("in", COMPACT_NS)!;
    this.arena.input(msg.from.toString(), el.attrs.y as string | undefined, el.attrs.seq as string | undefined, "compact");
  }

  @Message({ child: "spectate", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  spectate(msg: IncomingMessage): void {
    this.arena.spectate(msg.from.toString(), (msg.element.getChild("spectate", COMPACT_NS)!.attrs.r as string | undefined) ?? "", "compact");
  }

  @Message({ child: "pause", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  pauseRequest(msg: IncomingMessage): void {
    this.arena.requestPause(msg.from.toString());
  }

  @Message({ child: "resume", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  resumeRequest(msg: IncomingMessage): void {
    this.arena.resumeRequest(msg.from.toString());
  }

  @Message({ child: "leave", xmlns: COMPACT_NS })
  @Guard(admitGameStanza)
  leave(msg: IncomingMessage): void {
    this.arena.leave(msg.from.toString());
  }

  // --- presence: RFC 6121 §4.6, directed presence tells us when a player goes offline or comes back ---

  @Presence({ type: "unavailable" })
  gone(presence: IncomingPresence): void {
    this.arena.unavailable(presence.from.toString());
  }

  @Presence({ type: "available" })
  back(presence: IncomingPresence): void {
    // A bad nick in a presence is ignored: presence gets no error reply here (RFC 6121 §4.6 directed presence).
    try {
      this.rememberNick(presence.element, presence.from.bare().toString());
    } catch {
      // keep the name it had
    }
    this.arena.available(presence.from.toString(), presence.from.bare().toString());
  }

  // --- leaderboard ---

  /** `<leaderboard xmlns='xmpp:game:pong' max='10'/>` → the best players by rating. */
  @Iq({ type: "get", child: "leaderboard", xmlns: BOOK_NS })
  standings(iq: IncomingIq): Element {
    const raw = (iq.payload.attrs.max as string | undefined) ?? "10";
    const max = Number(raw);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      throw new StanzaError("bad-request", { type: "modify", text: `max must be an integer from 1 to 100, got ${JSON.stringify(raw)}` });
    }
    return xml("leaderboard", { xmlns: BOOK_NS }, ...this.leaderboard.top(max).map((s, i) =>
      xml("player", { rank: String(i + 1), jid: s.jid, rating: String(Math.round(s.rating)), wins: String(s.wins), losses: String(s.losses), ...this.nickAttr(s.jid) })));
  }

  /** `<lobby xmlns='urn:annex:pong:1'/>` → who waits and the running games with names and scores (PROTOCOL.md §Lobby). */
  @Iq({ type: "get", child: "lobby", xmlns: COMPACT_NS })
  lobbyQuery(): Element {
    const { waiting, games } = this.arena.lobby();
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
  chat(msg: IncomingMessage): Element {
    const command = (msg.body ?? "").trim().toLowerCase();
    if (command !== "top") return msg.reply({ body: 'Commands: "top" shows the best players. To play, use a Pong client (xmpp:game:pong).' });
    const top = this.leaderboard.top(10);
    if (top.length === 0) return msg.reply({ body: "No games played yet." });
    // A name with its address: in a chat client the address is what one can write to.
    const who = (jid: string) => (this.nickAttr(jid).nick ? `${this.nickAttr(jid).nick} (${jid})` : jid);
    return msg.reply({ body: top.map((s, i) => `${i + 1}. ${who(s.jid)} ${Math.round(s.rating)} (${s.wins}–${s.losses})`).join("\n") });
  }

  // --- discovery: running games as nodes of the component (XEP-0030 §4) ---

  @DiscoItems()
  games(node: string | undefined): DiscoItem[] | undefined {
    if (node === undefined) return this.arena.list().map((g) => ({ jid: this.config.domain, node: g.id, name: g.name }));
    return this.arena.rooms.has(node) ? [] : undefined;
  }

  @DiscoInfo()
  game(node: string | undefined): DiscoInfoResult | undefined {
    if (node === undefined || !this.arena.rooms.has(node)) return undefined;
    const name = this.arena.list().find((g) => g.id === node)?.name;
    return { identities: [{ category: "component", type: "generic", name }], features: [BOOK_NS, COMPACT_NS] };
  }

  /** Size cap, then the sender's token bucket; false = drop silently (over budget). The game handlers' guard. */
  admit(msg: IncomingMessage): boolean {
    const bytes = Buffer.byteLength(msg.element.toString());
    if (bytes > this.config.options.maxStanzaBytes) {
      this.arena.drops.oversized++;
      throw new StanzaError("policy-violation", { type: "modify", text: `game stanza of ${bytes} bytes exceeds the limit of ${this.config.options.maxStanzaBytes}` });
    }
    return this.arena.allow(msg.from.toString());
  }

  private who(msg: IncomingMessage): { full: string; bare: string; protocol?: Protocol } {
    return { full: msg.from.toString(), bare: msg.from.bare().toString() };
  }

  private finished(result: GameResult): void {
    const { replay, ...summary } = result;
    this.log.info({ ...summary, ticks: replay?.ticks, finishedAt: result.finishedAt.toISOString() }, "game over");
    try {
      this.leaderboard.record(result);
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
