import { NS } from "./namespaces.js";
import { type Element, xml } from "./xml.js";

// RFC 6120 §8.3.3: the defined conditions, each with the error type the RFC's example uses.
const DEFAULT_TYPES = {
  "bad-request": "modify",
  conflict: "cancel",
  "feature-not-implemented": "cancel",
  forbidden: "auth",
  gone: "cancel",
  "internal-server-error": "cancel",
  "item-not-found": "cancel",
  "jid-malformed": "modify",
  "not-acceptable": "modify",
  "not-allowed": "cancel",
  "not-authorized": "auth",
  "policy-violation": "modify",
  "recipient-unavailable": "wait",
  redirect: "modify",
  "registration-required": "auth",
  "remote-server-not-found": "cancel",
  "remote-server-timeout": "wait",
  "resource-constraint": "wait",
  "service-unavailable": "cancel",
  "subscription-required": "auth",
  "undefined-condition": "cancel",
  "unexpected-request": "wait",
} as const;

export type ErrorCondition = keyof typeof DEFAULT_TYPES;
/** RFC 6120 §8.3.2 */
export type ErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

export const ERROR_CONDITIONS = Object.keys(DEFAULT_TYPES) as ErrorCondition[];

export interface StanzaErrorOptions {
  type?: ErrorType;
  /** Human-readable text (RFC 6120 §8.3.2 <text/>). */
  text?: string;
  /** An application-specific condition element, e.g. pubsub#errors (RFC 6120 §8.3.4). */
  application?: Element;
}

/**
 * Thrown by a handler to answer with a stanza error; the dispatcher turns it into the
 * `<error/>` reply (RFC 6120 §8.3). Any other throw becomes internal-server-error.
 */
export class StanzaError extends Error {
  readonly condition: ErrorCondition;
  readonly type: ErrorType;
  readonly text?: string;
  readonly application?: Element;

  constructor(condition: ErrorCondition, options: StanzaErrorOptions | string = {}) {
    const opts = typeof options === "string" ? { text: options } : options;
    super(opts.text ? `${condition}: ${opts.text}` : condition);
    this.name = "StanzaError";
    this.condition = condition;
    this.type = opts.type ?? DEFAULT_TYPES[condition];
    this.text = opts.text;
    this.application = opts.application;
  }

  /** The `<error/>` child for a reply (RFC 6120 §8.3.2). */
  toElement(): Element {
    return xml(
      "error",
      { type: this.type },
      xml(this.condition, { xmlns: NS.stanzas }),
      this.text ? xml("text", { xmlns: NS.stanzas }, this.text) : null,
      this.application ?? null,
    );
  }

  /** Reads an `<error/>` child of a received stanza back into a StanzaError. */
  static fromStanza(stanza: Element): StanzaError | undefined {
    const error = stanza.getChild("error");
    if (!error) return undefined;
    const conditionEl = error.getChildElements().find((c) => c.getNS() === NS.stanzas && c.name !== "text");
    const condition = (conditionEl?.name ?? "undefined-condition") as ErrorCondition;
    const known = condition in DEFAULT_TYPES ? condition : "undefined-condition";
    const text = error.getChildText("text", NS.stanzas) ?? undefined;
    const application = error.getChildElements().find((c) => c.getNS() !== NS.stanzas);
    return new StanzaError(known, { type: error.attrs.type as ErrorType, text, application });
  }
}
