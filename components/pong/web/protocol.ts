import { type XmlElement, xml } from "@xmpp/client";
import { BOOK_FIELD, BOOK_NS, COMPACT_NS, type Field, HINTS_NS, NICK_NS, type Phase } from "../wire.js";

// The client side of the compact protocol (components/pong/PROTOCOL.md, `urn:annex:pong:1`) and the
// leaderboard IQ of the book's namespace (components/pong/README.md).

export { BOOK_NS, COMPACT_NS, type Field, NICK_NS, type Phase } from "../wire.js";

/** PROTOCOL.md: "field 800×600"; a spectator gets no `<start>`, so it draws this. */
export const DEFAULT_FIELD: Field = BOOK_FIELD;

export interface Start {
  room: string;
  side: 0 | 1;
  opponent: string;
  /** The opponent's name from the component (nick, "the computer", or its address). */
  opponentName?: string;
  field: Field;
  tickHz: number;
  snapshotHz: number;
  pointsToWin: number;
  ack: number;
  /** This seat's secret: sent back with a join to come back from another address. */
  token?: string;
  /** The shard running the game, when the service has several (PROTOCOL.md §Shards): game stanzas go there. */
  at?: string;
}

export interface Snapshot {
  room: string;
  tick: number;
  /** Last input seq applied for us (players only). */
  ack: number | undefined;
  ball: { x: number; y: number; vx: number; vy: number };
  paddles: [number, number];
  score: [number, number];
  phase: Phase;
}

export type GameEvent =
  | { k: "point"; who: 0 | 1; score: [number, number] }
  | { k: "over"; winner: 0 | 1; reason: string; score: [number, number] }
  | { k: "pause"; side: 0 | 1; grace: number; /** "request": a player asked for it (else a player is away). */ by?: string }
  | { k: "resume" }
  | { k: "timeout" };

export type Incoming = { kind: "queued"; side: 0 | 1 } | { kind: "start"; start: Start } | { kind: "snapshot"; snapshot: Snapshot } | { kind: "event"; event: GameEvent };

/** Every stanza we send: a bodiless headline with no-store (PROTOCOL.md §Transport rules, XEP-0334 §4.3). */
function gameMessage(to: string, payload: XmlElement, ...extra: XmlElement[]): XmlElement {
  return xml("message", { to, type: "headline" }, payload, xml("no-store", { xmlns: HINTS_NS }), ...extra);
}

/** A XEP-0172 nick element, or nothing for no name. */
export const nickElement = (nick: string | undefined) => (nick ? [xml("nick", { xmlns: NICK_NS }, nick)] : []);

/** Check in; `opponent: "bot"` plays the computer at once; `token` takes a seat back from a new address; `nick` names us. */
export const joinStanza = (to: string, options: { opponent?: "bot"; token?: string; nick?: string } = {}) =>
  gameMessage(to, xml("join", { xmlns: COMPACT_NS, ...(options.opponent ? { opponent: options.opponent } : {}), ...(options.token ? { token: options.token } : {}) }), ...nickElement(options.nick));
export const lobbyIq = (to: string) => xml("iq", { type: "get", to }, xml("lobby", { xmlns: COMPACT_NS }));
export const leaveStanza = (to: string) => gameMessage(to, xml("leave", { xmlns: COMPACT_NS }));
/** Ask for a pause between points (PROTOCOL.md §Pause), and end it (or take the request back). */
export const pauseStanza = (to: string) => gameMessage(to, xml("pause", { xmlns: COMPACT_NS }));
export const resumeStanza = (to: string) => gameMessage(to, xml("resume", { xmlns: COMPACT_NS }));
export const spectateStanza = (to: string, room: string) => gameMessage(to, xml("spectate", { xmlns: COMPACT_NS, r: room }));
/** Paddle moves carry an id with this prefix, so a refusal of one (RFC 6120 §8.3: the error keeps the id) is told apart. */
export const INPUT_ID_PREFIX = "in-";
export const inputStanza = (to: string, seq: number, y: number) => {
  const msg = gameMessage(to, xml("in", { xmlns: COMPACT_NS, seq: String(seq), y: String(Math.round(y)) }));
  msg.attrs.id = `${INPUT_ID_PREFIX}${seq}`;
  return msg;
};
export const leaderboardIq = (to: string, max = 10) => xml("iq", { type: "get", to }, xml("leaderboard", { xmlns: BOOK_NS, max: String(max) }));

const nums = (s: string | undefined, n: number): number[] | undefined => {
  const parts = (s ?? "").split(",").map(Number);
  return parts.length === n && parts.every(Number.isFinite) ? parts : undefined;
};
const side = (s: string | undefined): 0 | 1 => (s === "1" ? 1 : 0);
const phase = (s: string | undefined): Phase => (s === "play" || s === "paused" || s === "over" ? s : "serve");

/** The game payload of a message from the component, or undefined for anything else (malformed ones too). */
export function parseGameMessage(msg: XmlElement): Incoming | undefined {
  const el = msg.getChildElements().find((c) => c.attrs.xmlns === COMPACT_NS);
  if (!el) return undefined;
  const a = el.attrs;
  switch (el.name) {
    case "queued":
      return { kind: "queued", side: side(a.side) };
    case "start": {
      const [width, height] = nums(a.field, 2) ?? [800, 600];
      const [paddleWidth, paddleHeight, paddleMargin] = nums(a.paddle, 3) ?? [20, 100, 10];
      const field = { width: width!, height: height!, paddleWidth: paddleWidth!, paddleHeight: paddleHeight!, paddleMargin: paddleMargin!, ballRadius: Number(a.ball ?? 3) };
      return { kind: "start", start: { room: a.r ?? "", side: side(a.side), opponent: a.opp ?? "", opponentName: a.oppnick, field, tickHz: Number(a.hz ?? 60), snapshotHz: Number(a.snap ?? 20), pointsToWin: Number(a.to ?? 10), ack: Number(a.a ?? -1), token: a.token, at: a.at } };
    }
    case "s": {
      const b = nums(a.b, 4);
      const p = nums(a.p, 2);
      const sc = nums(a.sc, 2);
      if (!b || !p || !sc || !Number.isFinite(Number(a.t))) return undefined;
      return {
        kind: "snapshot",
        snapshot: { room: a.r ?? "", tick: Number(a.t), ack: a.a === undefined ? undefined : Number(a.a), ball: { x: b[0]!, y: b[1]!, vx: b[2]!, vy: b[3]! }, paddles: [p[0]!, p[1]!], score: [sc[0]!, sc[1]!], phase: phase(a.ph) },
      };
    }
    case "ev": {
      const sc = (nums(a.sc, 2) ?? [0, 0]) as [number, number];
      if (a.k === "point") return { kind: "event", event: { k: "point", who: side(a.who), score: sc } };
      if (a.k === "over") return { kind: "event", event: { k: "over", winner: side(a.winner), reason: a.reason ?? "score", score: sc } };
      if (a.k === "pause") return { kind: "event", event: { k: "pause", side: side(a.side), grace: Number(a.grace ?? 0), by: a.by } };
      if (a.k === "resume") return { kind: "event", event: { k: "resume" } };
      if (a.k === "timeout") return { kind: "event", event: { k: "timeout" } };
      return undefined;
    }
    default:
      return undefined;
  }
}

export interface Standing {
  rank: number;
  jid: string;
  /** The player's name, when the component knows one. */
  nick?: string;
  rating: number;
  wins: number;
  losses: number;
}

export function parseLeaderboard(iq: XmlElement): Standing[] {
  return (iq.getChild("leaderboard", BOOK_NS)?.getChildren("player") ?? []).map((p) => ({
    rank: Number(p.attrs.rank), jid: p.attrs.jid ?? "", nick: p.attrs.nick, rating: Number(p.attrs.rating), wins: Number(p.attrs.wins), losses: Number(p.attrs.losses),
  }));
}

export interface Lobby {
  waiting: string[];
  games: { room: string; names: [string, string]; score: [number, number]; watchers: number }[];
}

/** The component's `<lobby/>` answer (PROTOCOL.md §Lobby). */
export function parseLobby(iq: XmlElement): Lobby {
  const lobby = iq.getChild("lobby", COMPACT_NS);
  return {
    waiting: (lobby?.getChildren("waiting") ?? []).map((w) => w.attrs.name ?? "?"),
    games: (lobby?.getChildren("game") ?? []).map((g) => ({
      room: g.attrs.r ?? "", names: [g.attrs.left ?? "?", g.attrs.right ?? "?"] as [string, string],
      score: ((nums(g.attrs.sc, 2) ?? [0, 0]) as [number, number]), watchers: Number(g.attrs.watchers ?? 0),
    })),
  };
}
