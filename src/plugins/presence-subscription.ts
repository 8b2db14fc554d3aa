import { inject } from "tsyringe";
import { z } from "zod";
import { Handlers, Presence, Service } from "../handlers/decorators.js";
import { definePlugin } from "../handlers/plugin.js";
import type { IncomingPresence } from "../dispatch/incoming.js";
import type { Element } from "../stanza/xml.js";

const PresenceSubscriptionOptions = z.strictObject({
  /** Approve every subscription request (a service anyone may add to a roster); false refuses them all. */
  autoAuthorize: z.boolean().default(true),
  /** Status text in the available presence the component sends (RFC 6121 §4.7.2.2). */
  status: z.string().min(1).max(1024).optional(),
});
export type PresenceSubscriptionOptions = z.infer<typeof PresenceSubscriptionOptions>;

export const PRESENCE_SUBSCRIPTION_OPTIONS = Symbol.for("annex:plugin:presence-subscription:options");

export type RosterListener = (change: "subscribed" | "unsubscribed", bareJid: string) => void;

/**
 * The component's roster (Slixmpp's component roster, in memory): the bare JIDs subscribed to the
 * component's presence. Inject it to grant something to subscribers (e.g. a "presence" access model).
 */
@Service()
export class PresenceRoster {
  private readonly subscribers = new Set<string>();
  private readonly listeners = new Set<RosterListener>();

  has(bareJid: string): boolean {
    return this.subscribers.has(bareJid);
  }

  get size(): number {
    return this.subscribers.size;
  }

  list(): string[] {
    return [...this.subscribers].sort();
  }

  /** Called on every change; returns a function that stops the calls. */
  onChange(listener: RosterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal the plugin's handlers record changes here. */
  record(change: "subscribed" | "unsubscribed", bareJid: string): void {
    const had = this.subscribers.has(bareJid);
    if (change === "subscribed") this.subscribers.add(bareJid);
    else this.subscribers.delete(bareJid);
    if (had !== (change === "subscribed")) for (const listener of this.listeners) listener(change, bareJid);
  }
}

/** The subscription handshake of RFC 6121 §3, answered by the component itself. */
@Handlers()
export class PresenceSubscriptionHandlers {
  constructor(
    @inject(PresenceRoster) private readonly roster: PresenceRoster,
    @inject(PRESENCE_SUBSCRIPTION_OPTIONS) private readonly options: PresenceSubscriptionOptions,
  ) {}

  // RFC 6121 §3.1.3: approve the request, then tell the new subscriber we are available (§3.1.5);
  // or refuse it with unsubscribed (§3.2.1) when the component does not authorize anyone.
  @Presence({ type: "subscribe" })
  subscribe(presence: IncomingPresence): Element[] {
    const bare = presence.from.bare().toString();
    if (!this.options.autoAuthorize) return [presence.reply("unsubscribed")];
    this.roster.record("subscribed", bare);
    return [presence.reply("subscribed"), this.available(presence)];
  }

  // RFC 6121 §3.3.3: an unsubscribe is acknowledged with unsubscribed (and the subscriber forgotten), and the
  // contact (we) sends unavailable so the former subscriber stops showing us online.
  @Presence({ type: "unsubscribe" })
  unsubscribe(presence: IncomingPresence): Element[] {
    this.roster.record("unsubscribed", presence.from.bare().toString());
    return [presence.reply("unsubscribed"), presence.reply("unavailable")];
  }

  // RFC 6121 §4.3.2: a probe is answered with our current presence. While running that is available;
  // once stopping, the dispatcher takes no more stanzas and shutdown sends unavailable to everyone told available.
  @Presence({ type: "probe" })
  probe(presence: IncomingPresence): Element {
    return this.available(presence);
  }

  private available(presence: IncomingPresence): Element {
    const reply = presence.reply();
    if (this.options.status) reply.c("status").t(this.options.status);
    return reply;
  }
}

/**
 * Presence subscriptions answered by the component (RFC 6121 §3): approve (or refuse) requests, answer
 * probes, acknowledge unsubscribes, and keep the roster; shutdown says unavailable to everyone told available.
 */
export function presenceSubscription(defaults: Partial<PresenceSubscriptionOptions> = {}) {
  return definePlugin<PresenceSubscriptionOptions>({
    name: "presence-subscription",
    description: "RFC 6121 §3-4: presence subscriptions and probes",
    handlers: [PresenceSubscriptionHandlers],
    providers: [PresenceRoster],
    options: PresenceSubscriptionOptions,
    optionsToken: PRESENCE_SUBSCRIPTION_OPTIONS,
    defaults,
  });
}
