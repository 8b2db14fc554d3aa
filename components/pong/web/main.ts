import "./style.css";
import { type Jid, type XmlElement, xml } from "@xmpp/client";
import { Controls } from "./controls.js";
import { COMPACT_NS, DEFAULT_FIELD, type GameEvent, INPUT_ID_PREFIX, inputStanza, joinStanza, leaderboardIq, leaveStanza, type Lobby, pauseStanza, resumeStanza, lobbyIq, nickElement, parseGameMessage, parseLeaderboard, parseLobby, type Snapshot, spectateStanza, type Start } from "./protocol.js";
import { Sounds } from "./sounds.js";
import { Renderer } from "./renderer.js";
import { type Account, errorText, Session, settingsFrom } from "../../../web/shared/session.js";
import { type Frame, ViewModel } from "./view-model.js";

// The Pong page: finds the pong component by disco, plays with the compact protocol (PROTOCOL.md), and
// shows the leaderboard. Query parameters: ?pong=<component>, plus ?domain=, ?anon=, ?ws= (session.ts).

type Mode = "connecting" | "idle" | "queued" | "playing" | "watching" | "over";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  status: $("status"), find: $<HTMLButtonElement>("find"), computer: $<HTMLButtonElement>("computer"), leave: $<HTMLButtonElement>("leave"),
  rematch: $<HTMLButtonElement>("rematch"), pause: $<HTMLButtonElement>("pause"), sound: $<HTMLButtonElement>("sound"), nick: $<HTMLInputElement>("nick"),
  waiting: $("waiting"), lobbyGames: $("lobby-games"),
  leftName: $("left-name"), rightName: $("right-name"), score: $("score"), canvas: $<HTMLCanvasElement>("field"),
  leaderboard: $("leaderboard"), help: $("help"), login: $<HTMLFormElement>("login"), loginJid: $<HTMLInputElement>("login-jid"), loginPassword: $<HTMLInputElement>("login-password"),
};

const params = new URLSearchParams(location.search);
const settings = settingsFrom(location, params);
const view = new ViewModel();
const renderer = new Renderer(ui.canvas);

let session: Session;
let pong = params.get("pong") ?? "";
/** Where the running game is: the pong service itself, or the shard its `<start at>` named (PROTOCOL.md §Shards). */
let gameAddress = "";
let mode: Mode = "connecting";
let room = "";
let names: [string, string] = ["—", "—"];
/** The opponent is the computer: nobody else can drop out or come back. */
let againstComputer = false;
let message: string | undefined;
/** The seat's token from <start>: lets a guest back into its game after a reconnection (new address). */
let seatToken: string | undefined;
let seq = 0;
let lastSent: { y: number; at: number } | undefined;
let lastFrame: Frame | undefined;
let lastScore = "";
/** How many times the page got back into a running game (after a reconnect). */
let returns = 0;
/** What the last game was against, for "Rematch". */
let lastOpponent: "computer" | "human" | undefined;
let lobby: Lobby = { waiting: [], games: [] };
/** Our pause: asked for (it starts at the next serve), or running; undefined = none. */
let myPause: "asked" | "paused" | undefined;
/** The running pause was asked for (not a dropped connection). */
let pausedByRequest = false;
const sounds = new Sounds();
/** The player's name, remembered in this browser (XEP-0172 nick to the component). */
const NICK_KEY = "annex-pong-nick";
ui.nick.value = localStorage.getItem(NICK_KEY) ?? "";
const nick = () => ui.nick.value.trim().replace(/\s+/g, " ").slice(0, 32) || undefined;

/** A click whose stanza could not go out (the connection is dropping): said, not thrown away silently. */
function notSent(err: unknown): void {
  status(`Not sent: ${(err as Error).message}; reconnecting…`, "error");
}

function status(text: string, kind: "ok" | "busy" | "error" = "ok"): void {
  ui.status.textContent = text;
  // The line has a fixed height (style.css) so the page does not jump; the full text is in the tooltip.
  ui.status.title = text;
  ui.status.className = `status ${kind}`;
}

function setMode(next: Mode): void {
  mode = next;
  const online = mode !== "connecting";
  const free = online && (mode === "idle" || mode === "over" || mode === "watching");
  ui.find.disabled = !free;
  ui.computer.disabled = !free;
  ui.leave.disabled = !(mode === "queued" || mode === "playing" || mode === "watching");
  ui.rematch.hidden = mode !== "over" || lastOpponent === undefined;
  if (mode !== "playing") myPause = undefined;
  ui.pause.hidden = mode !== "playing";
  ui.pause.textContent = myPause === "paused" ? "Resume" : myPause === "asked" ? "Cancel the pause" : "Pause";
  ui.nick.disabled = mode === "playing" || mode === "queued";
  document.body.dataset.mode = mode;
  showLobby();
  // Only a player has a (yellow) paddle of its own to steer.
  ui.help.textContent = mode === "watching"
    ? "You are watching: both paddles are white. Pick “Find an opponent” or “Play the computer” to play."
    : "Your paddle is yellow. Mouse or touch: your paddle follows the pointer. Keyboard: ↑/↓ or W/S move it, Page Up/Page Down jump.";
}

function showNames(): void {
  ui.leftName.textContent = names[0];
  ui.rightName.textContent = names[1];
  ui.leftName.classList.toggle("me", mode === "playing" && view.side === 0);
  ui.rightName.classList.toggle("me", mode === "playing" && view.side === 1);
}

function showScore(score: [number, number]): void {
  const text = `${score[0]} : ${score[1]}`;
  if (text === lastScore) return;
  lastScore = text;
  ui.score.textContent = text;
  ui.score.setAttribute("aria-label", `${names[0]} ${score[0]}, ${names[1]} ${score[1]}`);
}

// --- connection ---

function connect(account?: Account): void {
  session?.stop();
  setMode("connecting");
  session = new Session(settings, { online, status, stanza }, account);
  session.start().catch(() => undefined);
}

async function online(jid: Jid, info: { first: boolean; sameAccount: boolean }): Promise<void> {
  // RFC 6121 §4.2 initial presence, then directed presence so the server tells pong when we go (§4.6).
  await session.send(xml("presence", {}));
  if (!pong) {
    status("Looking for the pong service…", "busy");
    pong = await session.findService(COMPACT_NS, `pong.${settings.domain}`);
  }
  await session.send(xml("presence", { to: pong }, ...nickElement(nick())));
  const before = mode;
  setMode("idle");
  if (!info.first && (before === "playing" || before === "queued")) {
    if (info.sameAccount) {
      // A check-in from the same account rejoins its game (README §Presence), even before pong saw us go.
      setMode(before);
      status(before === "playing" ? "Reconnected; returning to your game…" : "Reconnected; still waiting for an opponent…", "busy");
      await session.send(joinStanza(pong, { nick: nick() }));
    } else if (before === "playing" && seatToken) {
      // A guest comes back with a new address: the seat's token from <start> takes the seat back.
      setMode("playing");
      status("Reconnected as a new guest; returning to your game…", "busy");
      await session.send(joinStanza(pong, { token: seatToken, nick: nick() }));
    } else {
      message = undefined;
      status("Reconnected as a new guest: you were still waiting, check in again.", "error");
    }
  } else if (!info.first && before === "watching" && room) {
    setMode("watching");
    await session.send(spectateStanza(pong, room));
    status(`Reconnected; watching ${room} again`, "ok");
  } else {
    // A guest's address is a random string: say who the player is in words (the address is the tooltip).
    const who = jid.local && jid.domain === settings.anonymousHost ? "a guest" : jid.bare().toString();
    status(`Connected as ${nick() ?? who}; pong service: ${pong}`, "ok");
    ui.status.title = `Connected as ${jid.toString()}`;
  }
  await Promise.all([refreshLobby(), refreshLeaderboard()]);
}

/** From the service, from our game's shard, or a shard's `<start at>` naming itself (a domain, no user or resource). */
function fromGameService(el: XmlElement): boolean {
  const from = el.attrs.from ?? "";
  if (from === pong || from.split("/")[0] === pong || (gameAddress !== "" && from === gameAddress)) return true;
  const start = el.getChild("start", COMPACT_NS);
  return start !== undefined && !from.includes("@") && !from.includes("/") && start.attrs.at === from;
}

function stanza(el: XmlElement): void {
  if (el.name !== "message" || !fromGameService(el)) return;
  if (el.attrs.type === "error") {
    // A paddle move still in flight when the game ended (or when we left) is refused once it arrives:
    // the game is over for us already, so that refusal is no news (it must not replace "Game over").
    if ((el.attrs.id ?? "").startsWith(INPUT_ID_PREFIX) && mode !== "playing") return;
    const err = el.getChild("error");
    const condition = err?.getChildElements().find((c) => c.name !== "text")?.name ?? "error";
    status(`The game service refused a request: ${condition}${err?.getChildText("text") ? ` (${err.getChildText("text")})` : ""}`, "error");
    if (mode === "queued") setMode("idle");
    return;
  }
  const msg = parseGameMessage(el);
  if (!msg) return;
  switch (msg.kind) {
    case "queued":
      setMode("queued");
      status("Waiting for an opponent…", "busy");
      return;
    case "start":
      return started(msg.start);
    case "snapshot":
      if (mode !== "playing" && mode !== "watching") return;
      if (room && msg.snapshot.room && msg.snapshot.room !== room) return;
      bounceSounds(view.latest, msg.snapshot);
      view.push(msg.snapshot, performance.now());
      return;
    case "event":
      return onEvent(msg.event);
  }
}

function started(start: Start): void {
  const rejoin = room === start.room && mode === "playing";
  seatToken = start.token;
  room = start.room;
  gameAddress = start.at ?? pong;
  if (rejoin) returns++;
  else view.reset(start.field, start.tickHz, start.snapshotHz, start.side);
  const me = nick() ?? session.xmpp.jid?.bare().toString() ?? "you";
  againstComputer = start.opponent.startsWith("bot@");
  lastOpponent = againstComputer ? "computer" : "human";
  const opponent = start.opponentName ?? (againstComputer ? "the computer" : start.opponent);
  names = start.side === 0 ? [`${me} (you)`, opponent] : [opponent, `${me} (you)`];
  seq = Math.max(seq, start.ack + 1);
  message = undefined;
  setMode("playing");
  showNames();
  status(`${rejoin ? "Back in" : "Playing"} game ${room} against ${opponent}, first to ${start.pointsToWin}. You are on the ${start.side === 0 ? "left" : "right"}.`, "ok");
  ui.canvas.focus({ preventScroll: true });
}

function onEvent(ev: GameEvent): void {
  const who = (side: 0 | 1) => (mode === "playing" && side === view.side ? "You" : names[side]);
  switch (ev.k) {
    case "point":
      view.scored(ev.score);
      showScore(ev.score);
      sounds.play("point");
      return;
    case "over": {
      view.scored(ev.score);
      showScore(ev.score);
      const won = mode === "playing" && ev.winner === view.side;
      const lost = mode === "playing" && !won;
      const result = won ? "You win" : lost ? "You lose" : `${names[ev.winner]} wins`;
      message = `${result} ${ev.score[0]} : ${ev.score[1]}`;
      status(`Game over: ${won ? "you win" : lost ? "you lose" : `${names[ev.winner]} wins`} ${ev.score[0]}–${ev.score[1]}${ev.reason === "forfeit" ? " by forfeit" : ""}.`, "ok");
      if (won || lost) sounds.play(won ? "win" : "lose");
      setMode("over");
      void refreshLeaderboard();
      void refreshLobby();
      return;
    }
    case "pause":
      message = "Paused";
      if (ev.by === "request") {
        pausedByRequest = true;
        const mine = mode === "playing" && ev.side === view.side;
        if (mine) myPause = "paused";
        status(mine ? `Paused at your request: Resume when you are ready (it goes on by itself within ${ev.grace} s).` : `${names[ev.side]} asked for a pause; the game goes on within ${ev.grace} s.`, "busy");
        setMode(mode);
        return;
      }
      status(`${who(ev.side) === "You" ? "You" : who(ev.side)} lost the connection; the game waits up to ${ev.grace} s.`, "busy");
      return;
    case "resume": {
      message = undefined;
      const requested = pausedByRequest;
      pausedByRequest = false;
      myPause = undefined;
      setMode(mode);
      // Against the computer only we can have been away.
      status(requested ? "The pause is over; the game goes on." : againstComputer && mode === "playing" ? "You are back; the game goes on." : "Both players are back; the game goes on.", "ok");
      return;
    }
    case "timeout":
      setMode("idle");
      status("Nobody turned up in time. Try again, or play the computer.", "error");
      return;
  }
}

// --- lists ---

/** The lobby: who waits and the running games (names, live scores), asked every 2 s (PROTOCOL.md §Lobby). */
async function refreshLobby(): Promise<void> {
  if (!session || session.xmpp.status !== "online" || !pong) return;
  try {
    lobby = parseLobby(await session.request(lobbyIq(pong)));
  } catch (err) {
    status(`Could not load the lobby: ${errorText(err)}`, "error");
  }
  showLobby();
}
setInterval(() => void refreshLobby(), 2000);

function showLobby(): void {
  ui.waiting.textContent = lobby.waiting.length ? `Waiting for an opponent: ${lobby.waiting.join(", ")}` : "Nobody is waiting.";
  const free = mode === "idle" || mode === "over" || mode === "watching";
  ui.lobbyGames.replaceChildren(...(lobby.games.length === 0
    ? [Object.assign(document.createElement("li"), { className: "empty", textContent: "No games running." })]
    : lobby.games.map((g) => {
      const li = document.createElement("li");
      li.dataset.room = g.room;
      const players = Object.assign(document.createElement("span"), { className: "players", textContent: `${g.names[0]} vs ${g.names[1]}`, title: `${g.names[0]} vs ${g.names[1]}` });
      const score = Object.assign(document.createElement("span"), { className: "sc", textContent: `${g.score[0]} : ${g.score[1]}` });
      const watching = mode === "watching" && room === g.room;
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: watching ? "Watching" : "Watch", disabled: !free || watching });
      button.setAttribute("aria-label", `Watch ${g.names[0]} vs ${g.names[1]}`);
      button.addEventListener("click", () => watch(g.room, g.names));
      li.append(players, score, button);
      return li;
    })));
}

async function refreshLeaderboard(): Promise<void> {
  try {
    const standings = parseLeaderboard(await session.request(leaderboardIq(pong, 10)));
    if (standings.length === 0) return;
    ui.leaderboard.replaceChildren(...standings.map((s) => {
      const tr = document.createElement("tr");
      for (const v of [s.rank, s.nick ?? s.jid, s.rating, s.wins, s.losses]) tr.insertCell().textContent = String(v);
      tr.cells[1]!.className = "player";
      tr.cells[1]!.title = s.jid;
      return tr;
    }));
  } catch (err) {
    status(`Could not load the leaderboard: ${errorText(err)}`, "error");
  }
}

// --- actions ---

function join(computer: boolean): void {
  seatToken = undefined;
  gameAddress = "";
  room = "";
  message = undefined;
  lastScore = "";
  showScore([0, 0]);
  names = ["—", "—"];
  showNames();
  setMode("queued");
  status("Checking in…", "busy");
  void session.send(joinStanza(pong, { ...(computer ? { opponent: "bot" as const } : {}), nick: nick() })).catch(notSent);
}

function watch(node: string, players: [string, string]): void {
  room = node;
  names = [...players];
  view.reset(DEFAULT_FIELD, 60, 20, undefined);
  message = undefined;
  lastScore = "";
  setMode("watching");
  showNames();
  status(`Watching ${players[0]} vs ${players[1]}`, "ok");
  void session.send(spectateStanza(pong, node)).catch(notSent);
}

/** A paddle or wall bounce shows as a flipped velocity between two snapshots of the same rally. */
function bounceSounds(prev: Snapshot | undefined, next: Snapshot): void {
  if (!prev || prev.phase !== "play" || next.phase !== "play" || prev.score.join() !== next.score.join()) return;
  if (Math.sign(prev.ball.vx) !== Math.sign(next.ball.vx)) sounds.play("hit");
  else if (Math.sign(prev.ball.vy) !== Math.sign(next.ball.vy)) sounds.play("wall");
}

function showSound(): void {
  ui.sound.textContent = sounds.muted ? "Sound: off" : "Sound: on";
  ui.sound.setAttribute("aria-pressed", String(!sounds.muted));
}

ui.find.addEventListener("click", () => join(false));
ui.computer.addEventListener("click", () => join(true));
ui.leave.addEventListener("click", () => {
  void session.send(leaveStanza(gameAddress || pong)).catch(notSent);
  if (mode !== "playing") {
    setMode("idle");
    status("Left.", "ok");
  }
});
ui.rematch.addEventListener("click", () => join(lastOpponent === "computer"));
ui.pause.addEventListener("click", () => {
  if (mode !== "playing") return;
  if (myPause === undefined) {
    myPause = "asked";
    status("Pause asked for: the game pauses when this point is over.", "busy");
    void session.send(pauseStanza(gameAddress || pong)).catch(notSent);
  } else {
    // Resumes our pause, or takes back a request that has not started yet.
    if (myPause === "asked") status("Pause called off.", "ok");
    myPause = undefined;
    void session.send(resumeStanza(gameAddress || pong)).catch(notSent);
  }
  setMode(mode);
});
ui.sound.addEventListener("click", () => {
  sounds.toggle();
  showSound();
});
showSound();
ui.nick.addEventListener("change", () => {
  const name = nick();
  if (name) localStorage.setItem(NICK_KEY, name);
  else localStorage.removeItem(NICK_KEY);
  // Tell the component at once (XEP-0172 §4.2, presence), so the lobby shows the new name.
  if (session?.xmpp.status === "online" && pong) void session.send(xml("presence", { to: pong }, ...nickElement(name))).catch(() => undefined);
});
ui.login.addEventListener("submit", (e) => {
  e.preventDefault();
  const account = { jid: ui.loginJid.value.trim(), password: ui.loginPassword.value };
  ui.loginPassword.value = "";
  try {
    connect(account);
  } catch (err) {
    status(errorText(err), "error");
  }
});

// --- input and drawing ---

const controls = new Controls(ui.canvas, renderer, view, () => mode === "playing");

/** Inputs go out on change, at most 20 a second (the server allows 30, PROTOCOL.md). */
function sendInput(now: number): void {
  const target = view.target;
  if (mode !== "playing" || target === undefined || session.xmpp.status !== "online") return;
  const y = Math.round(Math.min(Math.max(target, 0), view.field.height));
  if (lastSent && (lastSent.y === y || now - lastSent.at < 50)) return;
  lastSent = { y, at: now };
  view.sent(++seq, y, now);
  void session.send(inputStanza(gameAddress || pong, seq, y)).catch(() => undefined);
}

function animate(now: number): void {
  controls.update(now);
  sendInput(now);
  const frame = mode === "playing" || mode === "watching" || mode === "over" ? view.frame(now) : undefined;
  if (frame) {
    lastFrame = frame;
    // After game over no snapshot follows the last point: the event's score stands.
    if (mode !== "over") showScore(frame.score);
  }
  let text = message;
  if (!text && frame?.serveIn !== undefined && mode !== "over") text = frame.serveIn > 0.05 ? `Serve in ${frame.serveIn.toFixed(1)} s` : undefined;
  if (!text && mode === "queued") text = "Waiting for an opponent…";
  if (!text && mode === "connecting") text = "Connecting…";
  renderer.draw(view.field, frame, mode === "playing" ? view.side : undefined, text);
  requestAnimationFrame(animate);
}

// A small console/test handle: what the page drew last and where it stands, and a way to drop the link.
(window as unknown as { annexPong: unknown }).annexPong = {
  frame: () => lastFrame,
  state: () => ({ mode, room, side: view.side, names, jid: session.jid, pong, returns, lobby, field: view.field }),
  dropConnection: () => session.dropConnection(),
};

setMode("connecting");
connect();
requestAnimationFrame(animate);
