// Rewrites the error table of docs/errors.md from the catalogue (src/errors.ts), after `make build`.
// The unit suite fails while the two differ (test/unit/seams.test.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { errorTableMarkdown } from "../dist/src/errors.js";

const path = new URL("../docs/errors.md", import.meta.url);
const text = readFileSync(path, "utf8");
const marked = /<!-- error-table:begin -->\n[\s\S]*?\n<!-- error-table:end -->/;
if (!marked.test(text)) throw new Error("docs/errors.md has no <!-- error-table:begin --> … <!-- error-table:end --> block");
writeFileSync(path, text.replace(marked, `<!-- error-table:begin -->\n${errorTableMarkdown()}\n<!-- error-table:end -->`));
console.log("docs/errors.md: error table rewritten from src/errors.ts");
