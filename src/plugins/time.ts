import { Handlers, Iq } from "../handlers/decorators.js";
import { definePlugin } from "../handlers/plugin.js";
import { NS } from "../stanza/namespaces.js";
import { type Element, xml } from "../stanza/xml.js";

/** XEP-0202 entity time: the UTC time (XEP-0082 DateTime) and the process's offset from UTC. */
@Handlers()
export class TimeBuiltin {
  @Iq({ type: "get", child: "time", xmlns: NS.time })
  time(): Element {
    const now = new Date();
    return xml("time", { xmlns: NS.time }, xml("tzo", {}, formatOffset(now.getTimezoneOffset())), xml("utc", {}, now.toISOString()));
  }
}

/** getTimezoneOffset() is minutes *behind* UTC; XEP-0082 wants ±hh:mm ahead. */
export function formatOffset(minutesBehindUtc: number): string {
  const ahead = -minutesBehindUtc;
  const sign = ahead < 0 ? "-" : "+";
  const abs = Math.abs(ahead);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export const timePlugin = definePlugin({ name: "time", description: "XEP-0202: Entity Time", handlers: [TimeBuiltin] });
