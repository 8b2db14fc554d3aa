export { Feed } from "./feed.js";
export { FeedService } from "./service.js";
export { FeedOptionsSchema, type FeedOptions, type NodeOptions } from "./options.js";
export type { FeedStore, FeedItem, Page, PageRequest, Retention } from "./store/store.js";
export { openStore } from "./store/open.js";
