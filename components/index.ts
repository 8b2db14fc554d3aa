import type { Catalogue } from "annex";

/** The bundled components, by the name a config file's `type` uses. Loaded on demand. */
export const bundled: Catalogue = {
  echo: async () => (await import("./echo/index.js")).Echo,
  disco: async () => (await import("./disco/index.js")).Directory,
  feed: async () => (await import("./feed/index.js")).Feed,
  pong: async () => (await import("./pong/index.js")).Pong,
};
