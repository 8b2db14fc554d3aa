import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { xml } from "@xmpp/client";
import { isListening } from "annex/testing";
import { TestClient } from "./support.js";

const DEMO_BIN = new URL("../../bin/demo.js", import.meta.url).pathname;

test("make demo: starts Prosody and the components, a real client gets an echo, Ctrl-C leaves nothing running", async () => {
  const dir = await mkdtemp(join(tmpdir(), "annex-demo-"));
  const child = spawn(process.execPath, [DEMO_BIN], { env: { ...process.env, ANNEX_DEMO_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

  const deadline = Date.now() + 30_000;
  while (!/Press Ctrl-C/.test(output)) {
    assert.ok(Date.now() < deadline, `demo did not start:\n${output}`);
    assert.equal(child.exitCode, null, `demo exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const c2sPort = Number(/client port \(c2s\):\s+127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  const componentPort = Number(/component port:\s+127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  const password = /password: (\S+)/.exec(output)?.[1] ?? "";
  assert.match(output, /echo\.localhost/);
  for (const page of ["pong", "feed"]) {
    const url = new RegExp(`(http://127\\.0\\.0\\.1:\\d+/${page}/)`).exec(output)?.[1];
    assert.ok(url, `the demo prints the ${page} page's address`);
    const response = await fetch(url);
    assert.equal(response.status, 200, `${url} is served`);
    assert.match(await response.text(), /<script/);
  }

  const demo = await TestClient.connect({ c2sPort, host: "localhost" }, "demo", password);
  await demo.send(xml("message", { to: "echo.localhost", type: "chat", id: "demo-1" }, xml("body", {}, "hello demo ✓")));
  const echo = await demo.waitFor((el) => el.attrs.id === "demo-1" && el.name === "message");
  assert.equal(echo.getChildText("body"), "hello demo ✓");
  await demo.stop();

  child.kill("SIGINT");
  assert.equal(await exited, 0, output);
  assert.match(output, /nothing is left running/);
  assert.equal(await isListening(c2sPort), false, "Prosody's c2s port is closed");
  assert.equal(await isListening(componentPort), false, "Prosody's component port is closed");
});
