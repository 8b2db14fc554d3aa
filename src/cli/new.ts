import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type CliIo, EXIT } from "./io.js";
import { ANNEX_VERSION } from "../version.js";

const pascal = (name: string) => name.split("-").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");

/** The folder of the Annex package the CLI runs from (dist/src/cli -> package root). */
const ANNEX_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * The Annex repository when the CLI runs from a clone and the working directory is inside it (an installed
 * annex has no components/ folder): there a new component goes to components/<name>/ by default.
 */
function repositoryAround(cwd: string): string | undefined {
  const inside = cwd === ANNEX_ROOT || cwd.startsWith(ANNEX_ROOT + sep);
  return inside && existsSync(join(ANNEX_ROOT, "components")) && existsSync(join(ANNEX_ROOT, "src")) ? ANNEX_ROOT : undefined;
}

/**
 * A component project declares annex twice: as a peer dependency, so a runner that installs it (a global
 * annex, or another project) lends it its own copy and one process has one copy of the framework; and as a
 * dev dependency, so the project builds, tests and runs itself with \`npx annex\`. Both are this version's range.
 */
const ANNEX_RANGE = `^${ANNEX_VERSION}`;

function componentSource(name: string): string {
  const cls = pascal(name);
  return `import { Component, type IncomingIq, type IncomingMessage, Iq, Logger, Message, StanzaError, xml } from "annex";

/** The namespace of this component's own IQ; advertised in disco#info automatically. */
export const NS_${cls.toUpperCase()} = "urn:example:${name}";

@Component({ identity: { category: "component", type: "generic", name: "${cls}" } })
export class ${cls} {
  constructor(private readonly log: Logger) {}

  // Chat and normal messages with a body; errors never reach this handler.
  @Message({ type: ["chat", "normal"], child: "body" })
  hello(msg: IncomingMessage) {
    this.log.debug({ from: msg.from.toString() }, "hello");
    return msg.reply({ body: \`${cls} got: \${msg.body}\` });
  }

  // The return value is the result payload; a thrown StanzaError is the error reply.
  @Iq({ type: "get", child: "status", xmlns: NS_${cls.toUpperCase()} })
  status(iq: IncomingIq) {
    const detail = iq.payload.attrs.detail as string | undefined;
    if (detail !== undefined && detail !== "short" && detail !== "long") throw new StanzaError("bad-request", "detail must be short or long");
    return xml("status", { xmlns: NS_${cls.toUpperCase()} }, "running");
  }
}
`;
}

function testSource(name: string, importPath: string): string {
  const cls = pascal(name);
  return `import assert from "node:assert/strict";
import { test } from "node:test";
import { assertXmlEqual, createHarness } from "annex/testing";
import { ${cls}, NS_${cls.toUpperCase()} } from "${importPath}";

test("answers a chat message", async () => {
  const h = createHarness(${cls}, { domain: "${name}.localhost" });
  const [reply] = await h.inject("<message type='chat' id='m1' from='alice@localhost/pc'><body>hi</body></message>");
  assertXmlEqual(reply, "<message type='chat' id='m1' from='${name}.localhost' to='alice@localhost/pc'><body>${cls} got: hi</body></message>");
});

test("answers its status IQ, and bad-request for a bad detail", async () => {
  const h = createHarness(${cls}, { domain: "${name}.localhost" });
  const [ok] = await h.inject(\`<iq type='get' id='s1'><status xmlns='\${NS_${cls.toUpperCase()}}'/></iq>\`);
  assert.equal(ok?.getChild("status")?.getText(), "running");
  const [bad] = await h.inject(\`<iq type='get' id='s2'><status xmlns='\${NS_${cls.toUpperCase()}}' detail='all'/></iq>\`);
  assert.equal(bad?.getChild("error")?.getChildElements()[0]?.name, "bad-request");
});

test("advertises its namespace in disco#info", async () => {
  const h = createHarness(${cls}, { domain: "${name}.localhost" });
  const [info] = await h.inject("<iq type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  const features = info?.getChild("query")?.getChildren("feature").map((f) => f.attrs.var);
  assert.ok(features?.includes(NS_${cls.toUpperCase()}));
});
`;
}

function readme(name: string, standalone: boolean): string {
  const cls = pascal(name);
  return `# ${name}

An Annex component (\`${cls}\`): answers chat messages and a \`status\` IQ in \`urn:example:${name}\`.

## Try it

${standalone ? standaloneTry(name) : `Build and test with the rest of the repository (\`make test\`), then run it by path (or make it a package like \`components/echo\` and name it in \`bin/components.ts\` to run it by name):

\`\`\`json
{ "type": { "module": "./dist/components/${name}/index.js" }, "domain": "${name}.localhost", "secretFile": "${name}.secret" }
\`\`\``}

In Prosody's config:

\`\`\`lua
Component "${name}.localhost"
  component_secret = "the same secret as in ${name}.secret"
\`\`\`
`;
}

function standaloneTry(name: string): string {
  return `\`\`\`sh
npm install
npm test            # builds with tsc, runs the unit tests (no server needed)
npx annex run --config annex.config.json   # after the Prosody lines below and ${name}.secret
\`\`\`

\`annex\` is both a peer dependency (a runner that installs this package lends it its own copy: one copy
of the framework per process) and a dev dependency (this project builds, tests and runs with it), both
\`${ANNEX_RANGE}\`. To use a local build of Annex instead of the registry, install its tarball (made with
\`npm pack\` in an Annex checkout); the peer range stays as it is:

\`\`\`sh
npm install --save-dev /path/to/annex-${ANNEX_VERSION}.tgz
\`\`\``;
}

/** `annex new <name>`: a component folder with a handler class, a unit test and a README; the test passes as generated. */
export async function scaffold(name: string | undefined, options: { standalone: boolean; dir?: string }, io: CliIo, cwd = process.cwd()): Promise<number> {
  if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
    io.err(`annex new: the name must be lower-case letters, digits and dashes, starting with a letter (got ${JSON.stringify(name ?? "")})`);
    return EXIT.usage;
  }
  // Outside a clone of the repository (the usual case: an installed annex) a new component is a project of its own.
  const repository = repositoryAround(cwd);
  const standalone = options.standalone || repository === undefined;
  const dir = resolve(cwd, options.dir ?? (standalone ? name : join(repository!, "components", name)));
  if (existsSync(dir)) {
    io.err(`annex new: ${dir} already exists; choose another name or --dir`);
    return EXIT.failure;
  }
  const files: Record<string, string> = standalone
    ? {
        [`src/${name}.ts`]: componentSource(name),
        [`src/index.ts`]: `export { ${pascal(name)} } from "./${name}.js";\n`,
        [`test/${name}.test.ts`]: testSource(name, `../src/${name}.js`),
        "README.md": readme(name, true),
        "package.json": `${JSON.stringify(
          {
            name,
            version: "0.1.0",
            private: true,
            type: "module",
            scripts: { build: "tsc -p tsconfig.json", test: "tsc -p tsconfig.json && node --test dist/test/", start: "annex run --config annex.config.json" },
            peerDependencies: { annex: ANNEX_RANGE },
            devDependencies: { annex: ANNEX_RANGE, typescript: "7.0.2", "@types/node": "20.19.43" },
          },
          null,
          2,
        )}\n`,
        "tsconfig.json": `${JSON.stringify(
          {
            compilerOptions: {
              target: "ES2022",
              module: "NodeNext",
              moduleResolution: "NodeNext",
              strict: true,
              experimentalDecorators: true,
              emitDecoratorMetadata: true,
              outDir: "dist",
              rootDir: ".",
              // Annex ships complete declarations (xmpp.js's too): nothing in node_modules needs skipping.
              skipLibCheck: false,
              types: ["node"],
            },
            include: ["src", "test"],
          },
          null,
          2,
        )}\n`,
        "annex.config.json": `${JSON.stringify({ server: { host: "127.0.0.1", port: 5347 }, components: [{ type: { module: `./dist/src/index.js` }, domain: `${name}.localhost`, secretFile: `${name}.secret` }] }, null, 2)}\n`,
        ".gitignore": "node_modules/\ndist/\n*.secret\n",
      }
    : {
        [`${name}.ts`]: componentSource(name),
        "index.ts": `export { ${pascal(name)} } from "./${name}.js";\n`,
        [`${name}.test.ts`]: testSource(name, `./${name}.js`),
        "README.md": readme(name, false),
      };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), content);
  }
  io.out(`created ${dir} (annex ${ANNEX_VERSION}):\n${Object.keys(files).map((f) => `  ${f}`).join("\n")}`);
  return EXIT.ok;
}
