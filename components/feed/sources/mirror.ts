import { buildForm, type Element, type Logger, parseXml, type Sender, StanzaError, xml } from "annex";
import type { MirrorOptions } from "../options.js";
import { NS_PUBSUB } from "../pubsub/errors.js";
import type { FeedItem } from "../store/store.js";

const CHECK_ID = "annex-feed-mirror-check";
/** Mirror publishes in flight at once; beyond that items are skipped (and counted), never queued without bound. */
const MAX_IN_FLIGHT = 32;

/**
 * Mirror mode: every item is also published to an external XEP-0060 service (Prosody's
 * pubsub.localhost) with publish-options, under the same node name and item id. At start it checks
 * that it may publish there; when the service says forbidden it logs the exact Prosody config that
 * fixes it (research pubsub.md §(b)).
 */
export class Mirror {
  /** Nodes the check allowed; others are not mirrored. */
  private readonly allowed = new Set<string>();
  private inFlight = 0;
  readonly stats = { published: 0, failed: 0, skipped: 0 };

  constructor(
    private readonly options: MirrorOptions,
    private readonly sender: Sender,
    private readonly log: Logger,
    private readonly domain: string,
  ) {}

  /** The Prosody 0.12 lines that let this component publish (and auto-create nodes) on the service. */
  fixHint(): string {
    return `Component "${this.options.service}" "pubsub"\n    admins = { "${this.domain}" }\n    autocreate_on_publish = true`;
  }

  /** Set by stop(): no more checks or publishes. */
  private stopped = false;
  /** Resolves when every node's check has finished (allowed or not). */
  checked: Promise<string[]> = Promise.resolve([]);

  /**
   * Checks each node in the background: onStart runs before the server link is up, so a check that
   * cannot be sent yet (or times out) is retried every 500 ms for about a minute.
   */
  start(nodes: string[]): void {
    this.checked = (async () => {
      for (const node of this.options.nodes ?? nodes) await this.checkNode(node);
      return [...this.allowed];
    })();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Publishes and retracts a check item on the node. */
  private async checkNode(node: string): Promise<void> {
    for (let attempt = 0; attempt < 120 && !this.stopped; attempt++) {
      try {
        await this.request(this.publishIq(node, CHECK_ID, xml("check", { xmlns: "urn:annex:feed:mirror-check" })));
        await this.request(
          xml("iq", { type: "set", to: this.options.service }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node }, xml("item", { id: CHECK_ID })))),
        );
        this.allowed.add(node);
        this.log.info({ service: this.options.service, node }, "mirror: may publish");
        return;
      } catch (err) {
        if (err instanceof StanzaError && err.condition === "forbidden") {
          this.log.error(
            { service: this.options.service, node, fix: this.fixHint() },
            `mirror: ${this.options.service} refused to let ${this.domain} publish to node "${node}" (forbidden). Add to the Prosody config:\n${this.fixHint()}`,
          );
          return;
        }
        if (err instanceof StanzaError) {
          this.log.error({ err, service: this.options.service, node }, `mirror: cannot publish to node "${node}" on ${this.options.service}: ${err.condition}`);
          return;
        }
        // Not online yet, or no answer: try again shortly.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Publishes one item to the external service; never blocks the feed. */
  publish(node: string, item: FeedItem): void {
    if (this.stopped || !this.allowed.has(node)) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.stats.skipped++;
      return;
    }
    this.inFlight++;
    this.request(this.publishIq(node, item.id, parseXml(item.payload)))
      .then(
        () => void this.stats.published++,
        (err: unknown) => {
          this.stats.failed++;
          this.log.warn({ err, node, id: item.id }, "mirror publish failed");
        },
      )
      .finally(() => this.inFlight--);
  }

  private request(iq: Element): Promise<Element> {
    return this.sender.request(iq, { timeoutMs: this.options.timeoutMs });
  }

  // XEP-0060 §7.1.5: publish-options make an auto-created node persistent and open.
  private publishIq(node: string, id: string, payload: Element): Element {
    const fields = [
      { var: "FORM_TYPE", type: "hidden" as const, values: [`${NS_PUBSUB}#publish-options`] },
      { var: "pubsub#persist_items", values: ["true"] },
      { var: "pubsub#access_model", values: ["open"] },
      ...(this.options.maxItems === undefined ? [] : [{ var: "pubsub#max_items", values: [String(this.options.maxItems)] }]),
    ];
    return xml(
      "iq",
      { type: "set", to: this.options.service },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload)), xml("publish-options", {}, buildForm({ type: "submit", fields }))),
    );
  }
}
