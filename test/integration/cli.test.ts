import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { type ManagedServer, startServer } from "annex/testing";
import { ANNEX_BIN, AnnexProcess, describeEachServer, logWhen } from "./support.js";

const execFileAsync = promisify(execFile);

async function runToExit(config: unknown, files?: Record<string, string>) {
  const p = await AnnexProcess.start(config, { waitOnline: false, files });
  const code = await p.exited;
  return { code, output: p.output };
}

describe("annex run: bad configuration exits non-zero with a clear message", () => {
  test("a bad config file: one line per bad field, exit 78", async () => {
    const { code, output } = await runToExit({ server: { port: 99999 }, components: [{ type: "echo", domain: "echo.localhost" }], extra: true });
    assert.equal(code, 78);
    assert.match(output, /the configuration is not valid/);
    assert.match(output, /server\.port: .*found number 99999/);
    assert.match(output, /components\[0\]\.secret: expected one of secret, secretFile or secretEnv/);
    assert.match(output, /\(top level\): unknown key "extra"/);
  });

  test("a missing secret file names the field and the path, exit 78", async () => {
    const { code, output } = await runToExit({ components: [{ type: "echo", domain: "echo.localhost", secretFile: "no-such.secret" }] });
    assert.equal(code, 78);
    assert.match(output, /components\[0\]\.secretFile: cannot read \/.*\/no-such\.secret \(ENOENT\)/);
  });

  test("an unknown component type lists the known ones, exit 78", async () => {
    const { code, output } = await runToExit({ components: [{ type: "ecko", domain: "echo.localhost", secret: "x" }] });
    assert.equal(code, 78);
    assert.match(output, /components\[0\]\.type: unknown component type "ecko" \(known: .*echo/);
  });

  test("a user's own component loads from a module path", async () => {
    const module = new URL("./fixtures/hello.js", import.meta.url).pathname;
    const { code, output } = await runToExit({ server: { port: 1 }, components: [{ type: { module }, domain: "hello.localhost", secret: "x", options: { greeting: 5 } }] });
    // The module loaded and its own option schema ran: a wrong option type is reported with its path.
    assert.equal(code, 78);
    assert.match(output, /components\[0\]\.options\.greeting: expected string, found number 5/);
  });
});

describe("annex run: messages a newcomer can act on", () => {
  test("every file, module, secret and options problem of the config in one run, one line each, exit 78", async () => {
    const { code, output } = await runToExit({
      components: [
        { type: "echo", domain: "a.localhost", secretFile: "a.secret", options: { greeting: "hi" } },
        { type: "ecko", domain: "b.localhost", secretEnv: "ANNEX_TEST_NO_SUCH_VARIABLE" },
        { type: { module: "./nowhere.js" }, domain: "c.localhost", secret: "s" },
      ],
    });
    assert.equal(code, 78, output);
    const lines = output.split("\n").filter((l) => l.startsWith("  components["));
    assert.equal(lines.length, 5, output);
    assert.match(output, /components\[0\]\.secretFile: cannot read \/.*\/a\.secret \(ENOENT\)/);
    assert.match(output, /components\[0\]\.options: echo takes no options \(it declares no options schema\), found key "greeting": remove "options"/);
    assert.match(output, /components\[1\]\.type: unknown component type "ecko"/);
    assert.match(output, /components\[1\]\.secretEnv: the environment variable ANNEX_TEST_NO_SUCH_VARIABLE is not set/);
    assert.match(output, /components\[2\]\.type\.module: cannot load \/.*\/nowhere\.js/);
  });

  test("a mistyped key: the closest valid key", async () => {
    const { code, output } = await runToExit({ components: [{ type: "echo", domain: "echo.localhost", secret: "s", maxInflight: 8 }] });
    assert.equal(code, 78, output);
    assert.match(output, /^ {2}components\[0\]: unknown key "maxInflight" \(did you mean "maxInFlight"\?\)$/m);
  });

  test("the metrics port taken: names metrics.port and the fix, exit 78, before connecting", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      // server.port 1: nothing listens there, so only the metrics port can be what stops it.
      const { code, output } = await runToExit({ server: { port: 1 }, metrics: { port }, components: [{ type: "echo", domain: "echo.localhost", secret: "s" }] });
      assert.equal(code, 78, output);
      assert.match(output, new RegExp(`^ {2}metrics\\.port: 127\\.0\\.0\\.1:${port} is already in use by another process \\(EADDRINUSE\\): set metrics\\.port \\(or ANNEX_METRICS_PORT, --metrics-port\\) to a free port, or 0 to serve no metrics$`, "m"));
      assert.doesNotMatch(output, /ECONNREFUSED|retrying/);
    } finally {
      holder.close();
    }
  });

  test("a throwing onStart names the component's domain and class", async () => {
    const module = new URL("./fixtures/broken-start.js", import.meta.url).pathname;
    const { code, output } = await runToExit({ server: { port: 1 }, components: [{ type: { module }, domain: "inventory.localhost", secret: "x" }] });
    assert.equal(code, 1, output);
    assert.match(output, /^annex: inventory\.localhost: Database\.onStart\(\) failed, so the component does not start: connect ECONNREFUSED 127\.0\.0\.1:5432$/m);
  });

  test("annex new --help through the bin: the scaffold's usage, exit 0", async () => {
    const { stdout } = await execFileAsync(process.execPath, [ANNEX_BIN, "new", "--help"]);
    assert.match(stdout, /^Usage:\n {2}annex new <name>/);
    assert.doesNotMatch(stdout, /annex run|ANNEX_SERVER_PORT/);
  });
});

describeEachServer("annex run against a real server", (kind) => {
  let prosody: ManagedServer;
  before(async () => {
    prosody = await startServer(kind, { components: [{ domain: "echo.localhost", secret: "right-secret" }] });
  });
  after(async () => {
    await prosody?.stop();
  });

  test("a wrong secret exits 78 after one attempt, naming the secret and not printing it", async () => {
    const started = Date.now();
    const p = await AnnexProcess.start(
      { server: { port: prosody.componentPort }, components: [{ type: "echo", domain: "echo.localhost", secret: "wrong-secret" }] },
      { waitOnline: false },
    );
    const code = await p.exited;
    assert.equal(code, 78, p.output);
    assert.ok(Date.now() - started < 5000);
    // The advice names the server's own configuration (the server is told apart by its stream header).
    if (kind === "prosody") assert.match(p.output, /^annex: not-authorized: Prosody rejected the secret for echo\.localhost: check that the component's secret matches component_secret under Component "echo\.localhost" in Prosody's config$/m);
    else assert.match(p.output, /^annex: not-authorized: ejabberd refused echo\.localhost: check that echo\.localhost is listed under hosts of the ejabberd_service listener on that port, with password equal to the component's secret$/m);
    assert.ok(!p.output.includes("wrong-secret"));
    // Each server logs a refused handshake its own way: one such line is one attempt.
    const refused = kind === "prosody" ? /echo\.localhost:component.*(authenticat|token)/i : /Failed external component .*echo\.localhost/i;
    const attempts = (await logWhen(prosody, refused)).split("\n").filter((l) => refused.test(l));
    assert.equal(attempts.length, 1, attempts.join("\n"));
  });

  test("a domain the server does not host exits 78", async () => {
    const p = await AnnexProcess.start(
      { server: { port: prosody.componentPort }, components: [{ type: "echo", domain: "other.localhost", secret: "x" }] },
      { waitOnline: false },
    );
    assert.equal(await p.exited, 78, p.output);
    if (kind === "prosody") {
      assert.match(p.output, /host-unknown: .*add Component "other\.localhost"/);
    } else {
      // ejabberd 23.01 answers a domain missing from the listener's hosts with not-authorized, as for a wrong
      // secret; only its log tells the two apart.
      assert.match(p.output, /^annex: not-authorized: ejabberd refused other\.localhost: check that other\.localhost is listed under hosts of the ejabberd_service listener/m);
      assert.match(await logWhen(prosody, /other\.localhost/), /Domain other\.localhost is unconfigured for external component/);
    }
  });

  test("SIGTERM stops cleanly with exit 0 and closes the stream", async () => {
    const p = await AnnexProcess.start({ server: { port: prosody.componentPort }, components: [{ type: "echo", domain: "echo.localhost", secret: "right-secret" }] });
    assert.equal(await p.stop(), 0, p.output);
    assert.match(p.output, /"msg":"stopping"/);
  });
});
