#!/usr/bin/env node
// Bundles the browser pages (components/<name>/web/) into one folder that any static server, or
// Prosody's mod_http_files next to mod_websocket (same origin), can serve: <out>/pong/, <out>/feed/.
// Everything the pages need is in the bundle (no CDN at run time). <out>/converse/ is the Converse.js web
// chat client (npm converse.js) set up for the same origin, with its files copied from node_modules.
//
//   node scripts/build-web.mjs [outDir]     default dist/web
import { copyFile, cp, mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? join(root, "dist/web"));
const PAGES = ["pong", "feed"];

await rm(out, { recursive: true, force: true });
for (const page of PAGES) {
  const src = join(root, "components", page, "web");
  const dest = join(out, page);
  await mkdir(dest, { recursive: true });
  // main.ts → app.js, and the style sheets it imports → app.css.
  await build({
    entryPoints: { app: join(src, "main.ts") },
    outdir: dest,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "warning",
    absWorkingDir: root,
    // xmpp.js's browser base64 is btoa, Latin-1 only: SASL needs UTF-8 (web/shared/base64-utf8.ts says why).
    alias: { "@xmpp/base64": join(root, "web/shared/base64-utf8.ts") },
  });
  await copyFile(join(src, "index.html"), join(dest, "index.html"));
}

// Converse.js: its built files (no source maps, no unminified copies: ~12 MB instead of 24) and our setup.
const converseDist = join(root, "node_modules/converse.js/dist");
const unneeded = /\.map$|^converse\.(js|css)$|^website/;
await cp(converseDist, join(out, "converse/dist"), { recursive: true, filter: (src) => !unneeded.test(src.slice(converseDist.length + 1).split("/").pop() ?? "") });
for (const file of ["index.html", "start.js", "local-only.js"]) await copyFile(join(root, "web/converse", file), join(out, "converse", file));

console.log(`web pages built into ${out}: ${[...PAGES, "converse"].map((p) => `${p}/index.html`).join(", ")}`);
