import { inject } from "tsyringe";
import { Handlers, Iq } from "../handlers/decorators.js";
import { definePlugin } from "../handlers/plugin.js";
import { HandlerRegistry } from "../handlers/registry.js";
import { NS } from "../stanza/namespaces.js";
import { type Element, xml } from "../stanza/xml.js";
import { ANNEX_VERSION } from "../version.js";

/** XEP-0092 software version. The OS is left out on purpose (XEP-0092 §5: it helps attackers). */
@Handlers()
export class VersionBuiltin {
  constructor(@inject(HandlerRegistry) private readonly registry: HandlerRegistry) {}

  @Iq({ type: "get", child: "query", xmlns: NS.version })
  version(): Element {
    const software = this.registry.options.software ?? { name: "annex", version: ANNEX_VERSION };
    return xml("query", { xmlns: NS.version }, xml("name", {}, software.name), xml("version", {}, software.version));
  }
}

export const versionPlugin = definePlugin({ name: "version", description: "XEP-0092: Software Version", handlers: [VersionBuiltin] });
