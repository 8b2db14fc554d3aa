import { type Catalogue, packageCatalogue } from "annex";

/**
 * The bundled components, by the name a config file's `type` uses: each is its own package (`feed` is
 * `@annex/feed`, in components/feed/ of the repository), installed next to annex or the config file.
 */
export const BUNDLED_COMPONENTS = ["echo", "disco", "feed", "pong"] as const;

export const bundled: Catalogue = packageCatalogue(Object.fromEntries(BUNDLED_COMPONENTS.map((name) => [name, `@annex/${name}`])));
