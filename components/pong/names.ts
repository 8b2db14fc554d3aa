import { type Element, StanzaError } from "annex";

// Players' names (issue 18: "names, not addresses"). A player says its name with a XEP-0172 <nick/> in
// the message that checks in (XEP-0172 §4.3: a nick may travel with a message to an entity the sender
// first talks to), or in its presence to the component (§4.2 puts it in presence too). The computer is
// "the computer" everywhere. Names are kept for this process's lifetime only, and bounded.

export const NICK_NS = "http://jabber.org/protocol/nick";
export const COMPUTER_NAME = "the computer";
export const MAX_NICK_LENGTH = 32;
const MAX_KNOWN = 10_000;

/** The nick carried by a stanza, trimmed; undefined when there is none; bad-request when it is unusable. */
export function nickOf(stanza: Element): string | undefined {
  const el = stanza.getChild("nick", NICK_NS);
  if (!el) return undefined;
  const nick = el.text().normalize("NFC").trim().replace(/\s+/gu, " ");
  if (nick === "") throw new StanzaError("bad-request", { type: "modify", text: "the nick (XEP-0172) is empty" });
  if ([...nick].length > MAX_NICK_LENGTH) throw new StanzaError("bad-request", { type: "modify", text: `the nick (XEP-0172) is longer than ${MAX_NICK_LENGTH} characters` });
  // Control and format characters would let a name look like another (or break a terminal's line).
  if (/[\p{Cc}\p{Cf}]/u.test(nick)) throw new StanzaError("bad-request", { type: "modify", text: "the nick (XEP-0172) contains control characters" });
  return nick;
}

/** Last nick seen per bare JID (oldest forgotten first past MAX_KNOWN). */
export class Nicknames {
  private readonly byBare = new Map<string, string>();

  set(bare: string, nick: string): void {
    this.byBare.delete(bare);
    this.byBare.set(bare, nick);
    if (this.byBare.size > MAX_KNOWN) this.byBare.delete(this.byBare.keys().next().value!);
  }

  get(bare: string): string | undefined {
    return this.byBare.get(bare);
  }

  /** What to show for a player: its nick, "the computer", or its address. */
  nameOf(bare: string, isBot = false): string {
    return isBot ? COMPUTER_NAME : this.byBare.get(bare) ?? bare;
  }
}
