import type { Element, Logger } from "annex";
import type { FeedOptions } from "./options.js";
import type { FeedItem } from "./store/store.js";

export interface PublishRequest {
  id?: string;
  payload: Element;
  /** Who publishes: a JID, or the feed's domain for its own sources. */
  publisher: string;
}

/**
 * What the feed's own sources (tickers, the HTTP ingest) need of it. FeedService implements it; the
 * sources depend on this, not on the service, so the service can start them without an import circle.
 */
export interface FeedSink {
  readonly domain: string;
  readonly log: Logger;
  readonly options: FeedOptions;
  readonly nodes: ReadonlyMap<string, unknown>;
  publish(node: string, request: PublishRequest): Promise<FeedItem>;
}
