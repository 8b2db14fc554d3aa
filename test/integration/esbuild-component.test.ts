import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import type { ManagedProsody } from "annex/testing";
import { build } from "esbuild";
import { AnnexProcess, startProsody, TestClient } from "./support.js";

// A developer's component compiled by esbuild (as tsx, vite or a bundler would): decorators are kept,
// but no design:paramtypes is emitted, so constructor injection by type cannot work. Annex must say so,
// once, with the fix, before anything starts; and the fix (@Inject) must really work against a server.
const source = (inject: boolean) => `
import { Component, Inject, type IncomingMessage, Logger, Message } from "annex";

@Component({ identity: { category: "component", type: "generic", name: "Bundled" } })
export class Bundled {
  constructor(${inject ? "@Inject(Logger) " : ""}private readonly log: Logger) {}

  @Message({ type: "chat", child: "body" })
  echo(msg: IncomingMessage) {
    this.log.debug("echo");
    return msg.reply({ body: "bundled: " + msg.body });
  }
}
`;

const REGISTRY_LINE =
  /^annex: Bundled: constructor parameter 1 of 1 has no type metadata \(the class was compiled without emitDecoratorMetadata, e\.g\. by esbuild or tsx\), so it cannot be injected; fix: compile with tsc and "emitDecoratorMetadata": true, or name the token with @Inject\(Token\) on that parameter$/m;

describe("a component compiled by esbuild", () => {
  let dir: string;
  let broken: string;
  let fixed: string;
  let prosody: ManagedProsody;

  before(async () => {
    // Inside the repository, so the module's `import "annex"` resolves to this package (as it would in a project).
    await mkdir(resolve(".annex"), { recursive: true });
    dir = await mkdtemp(resolve(".annex", "esbuild-"));
    for (const [name, inject] of [["broken", false], ["fixed", true]] as const) {
      const input = join(dir, `${name}.ts`);
      await writeFile(input, source(inject));
      await build({ entryPoints: [input], outfile: join(dir, `${name}.js`), format: "esm", platform: "node", tsconfigRaw: { compilerOptions: { experimentalDecorators: true } }, logLevel: "silent" });
    }
    broken = join(dir, "broken.js");
    fixed = join(dir, "fixed.js");
    prosody = await startProsody([{ domain: "bundled.localhost", secret: "bundled-secret" }], [{ username: "alice", password: "alice-pw" }]);
  });

  after(async () => {
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (module: string) => ({ server: { port: prosody.componentPort }, components: [{ type: { module }, domain: "bundled.localhost", secret: "bundled-secret" }] });

  for (const command of [["config", "check"], ["run"]]) {
    test(`annex ${command.join(" ")} refuses it with one RegistryError line and exit 78, no stack trace`, async () => {
      const p = await AnnexProcess.start(config(broken), { command, waitOnline: false });
      assert.equal(await p.exited, 78, p.output);
      assert.match(p.output, REGISTRY_LINE);
      assert.doesNotMatch(p.output, /^\s+at /m, "no stack trace");
      assert.doesNotMatch(p.output, /TypeInfo not known/, "not tsyringe's raw text");
    });
  }

  test("with @Inject(Logger) the same build passes config check and answers a real client through Prosody", async () => {
    const check = await AnnexProcess.start(config(fixed), { command: ["config", "check"], waitOnline: false });
    assert.equal(await check.exited, 0, check.output);
    const annex = await AnnexProcess.start(config(fixed));
    const alice = await TestClient.connect(prosody, "alice", "alice-pw");
    try {
      await alice.send(xml("message", { to: "bundled.localhost", type: "chat", id: "b1" }, xml("body", {}, "hi")));
      const reply = await alice.waitFor((el) => el.name === "message" && el.attrs.id === "b1", 5000, "the bundled component's reply");
      assert.equal(reply.getChildText("body"), "bundled: hi");
    } finally {
      await alice.stop();
      assert.equal(await annex.stop(), 0, annex.output);
    }
  });
});
