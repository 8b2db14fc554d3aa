import { createHash } from "node:crypto";
import { inject } from "tsyringe";
import { DiscoInfo, Handlers } from "../handlers/decorators.js";
import type { Identity } from "../handlers/metadata.js";
import { definePlugin } from "../handlers/plugin.js";
import { HandlerRegistry } from "../handlers/registry.js";
import { NS } from "../stanza/namespaces.js";
import { xml } from "../stanza/xml.js";
import type { DiscoInfoResult } from "./disco-catalog.js";

/** XEP-0115 §4: the node names the software; the same for every Annex component. */
export const CAPS_NODE = "urn:annex:caps";

/**
 * XEP-0115 §5.1 verification string: identities (category/type/lang/name, sorted), then features (sorted),
 * each followed by "<", hashed with SHA-1 and base64-encoded.
 */
export function capsVer(identities: Identity[], features: string[]): string {
  const ids = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ""}/${i.name ?? ""}`).sort(byteOrder);
  const input = [...ids, ...[...new Set(features)].sort(byteOrder)].map((s) => `${s}<`).join("");
  return createHash("sha1").update(input, "utf8").digest("base64");
}

// XEP-0115 §5.1 sorts by "i;octet" collation: compare the UTF-8 bytes, not UTF-16 units.
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Answers disco#info for `node#ver` (XEP-0115 §6.2) with exactly what the ver was computed from. */
@Handlers()
export class CapsDisco {
  readonly ver: string;

  constructor(@inject(HandlerRegistry) private readonly registry: HandlerRegistry) {
    this.ver = capsVer(registry.identities, registry.features);
  }

  @DiscoInfo()
  info(node: string | undefined): DiscoInfoResult | undefined {
    if (node !== `${CAPS_NODE}#${this.ver}`) return undefined;
    return { identities: this.registry.identities, features: this.registry.features };
  }
}

/**
 * XEP-0115 entity capabilities: every available presence the component sends carries <c/> with the
 * verification string of its identities and features, computed from the registry so it cannot drift from
 * what disco#info says; clients (profanity, Converse.js) then know it supports ping, version… without asking.
 */
export const capsPlugin = definePlugin({
  name: "caps",
  description: "XEP-0115: Entity Capabilities",
  dependencies: ["disco"],
  handlers: [CapsDisco],
  setup: ({ resolve }) => {
    let ver: string | undefined;
    return {
      outbound: [
        ({ stanza }, next) => {
          // RFC 6121 §4.7.1: no type = available; only that presence advertises capabilities (XEP-0115 §1.3).
          if (stanza.name === "presence" && stanza.attrs.type === undefined && !stanza.getChild("c", NS.caps)) {
            ver ??= resolve(CapsDisco).ver;
            stanza.append(xml("c", { xmlns: NS.caps, hash: "sha-1", node: CAPS_NODE, ver }));
          }
          return next();
        },
      ],
    };
  },
});
