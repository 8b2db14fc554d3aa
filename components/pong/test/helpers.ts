import { type Element, parseXml } from "annex";
import { createHarness, type Harness } from "annex/testing";
import { Pong } from "../pong.js";
import { BOOK_NS, COMPACT_NS } from "../protocol.js";

export const DOMAIN = "pong.localhost";
export const ALICE = "alice@localhost/a";
export const BOB = "bob@localhost/b";
export const CAROL = "carol@localhost/c";

export function pongHarness(options: Record<string, unknown> = {}): { h: Harness; pong: Pong } {
  const h = createHarness(Pong, { domain: DOMAIN, options: { seed: 1, ...options } });
  return { h, pong: h.host.instance(Pong) };
}

export function bookMsg(from: string, action: string, fields: Record<string, string | number> = {}, extra = ""): string {
  const children = Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join("");
  return `<message from='${from}' to='${DOMAIN}' id='m-${action}'>${extra}<pong xmlns='${BOOK_NS}'><action>${action}</action>${children}</pong></message>`;
}

export function compactMsg(from: string, name: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}='${v}'`).join("");
  return `<message from='${from}' to='${DOMAIN}' type='headline' id='c-${name}'><${name} xmlns='${COMPACT_NS}'${a}/></message>`;
}

/** The book action of a stanza we sent, or undefined. */
export const actionOf = (el: Element) => el.getChild("pong", BOOK_NS)?.getChildText("action") ?? undefined;
export const toOf = (el: Element) => el.attrs.to as string;
export const fieldsOf = (el: Element) =>
  Object.fromEntries((el.getChild("pong", BOOK_NS)?.getChildElements() ?? []).filter((c) => c.name !== "action").map((c) => [c.name, c.getText()]));
export const compactOf = (el: Element, name: string) => el.getChild(name, COMPACT_NS);
export const errorCondition = (el: Element | undefined) => el?.getChild("error")?.getChildElements()[0]?.name;
export const errorText = (el: Element | undefined) => el?.getChild("error")?.getChildText("text");
export { parseXml };
