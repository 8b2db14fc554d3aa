import { Handlers, Iq } from "../handlers/decorators.js";
import { definePlugin } from "../handlers/plugin.js";
import { NS } from "../stanza/namespaces.js";

/** XEP-0199 §4.2: answer a ping with an empty result. */
@Handlers()
export class PingBuiltin {
  @Iq({ type: "get", child: "ping", xmlns: NS.ping })
  ping(): void {}
}

export const pingPlugin = definePlugin({ name: "ping", description: "XEP-0199: XMPP Ping", handlers: [PingBuiltin] });
