import { Handlers, Iq } from "../handlers/decorators.js";
import { NS } from "../stanza/namespaces.js";

/** XEP-0199 §4.2: answer a ping with an empty result. */
@Handlers()
export class PingBuiltin {
  @Iq({ type: "get", child: "ping", xmlns: NS.ping })
  ping(): void {}
}
