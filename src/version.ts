/** Annex's own version (kept equal to package.json by a unit test). */
export const ANNEX_VERSION = "0.1.0";
