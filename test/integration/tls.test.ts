import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { xml } from "@xmpp/client";
import { type ManagedEjabberd, type ManagedServer, startServer } from "annex/testing";
import { ManagedEjabberd as Ejabberd } from "../../src/testing/ejabberd.js";
import { AnnexProcess, TestClient } from "./support.js";

const execFileAsync = promisify(execFile);

// The link over TLS from the first byte (server.tls), for a component on another machine: ejabberd's
// ejabberd_service listener with `tls: true` is the real server side. Prosody 0.12 has no TLS component
// port (component_ports is plain TCP; a TLS terminator in front of it is the way there), so on Prosody the
// test is that server.tls against its plain port fails with the right advice.

describe("server.tls", () => {
  let dir: string;
  let ejabberd: ManagedEjabberd;
  let prosody: ManagedServer;
  let caFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "annex-tls-"));
    // The test's own CA and a server certificate for localhost signed by it (ejabberd_pkix refuses a bare self-signed one).
    const run = (args: string[]) => execFileAsync("openssl", args);
    const p = (name: string) => join(dir, name);
    await run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=Annex test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    await run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("key.pem"), "-out", p("req.pem"), "-subj", "/CN=localhost"]);
    await writeFile(p("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    await run(["x509", "-req", "-in", p("req.pem"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-out", p("cert.pem"), "-days", "2", "-extfile", p("ext.cnf")]);
    const both = p("ejabberd.pem");
    await writeFile(both, (await readFile(p("cert.pem"), "utf8")) + (await readFile(p("key.pem"), "utf8")) + (await readFile(p("ca.pem"), "utf8")));
    // ejabberd runs as its own user: it must read the folder and the files.
    const { stdout } = await execFileAsync("id", ["-u", "ejabberd"]);
    await chmod(dir, 0o755);
    for (const file of [both, p("ca.pem")]) await chown(file, Number(stdout.trim()), 0);
    await chmod(both, 0o600);
    caFile = p("ca.pem");
    ejabberd = await Ejabberd.start({ components: [{ domain: "echo.localhost", secret: "tls-secret" }], users: [{ username: "alice", password: "alice-pw" }], componentTls: { certfile: both, caFile } });
    prosody = await startServer("prosody", { components: [{ domain: "echo.localhost", secret: "tls-secret" }] });
  });

  after(async () => {
    await ejabberd?.stop();
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (port: number, tls: unknown) => ({ server: { host: "127.0.0.1", port, tls }, components: [{ type: "echo", domain: "echo.localhost", secret: "tls-secret" }] });

  test("[ejabberd] with the CA and the certificate's name the component comes online over TLS and answers a client", async () => {
    const annex = await AnnexProcess.start(config(ejabberd.componentPort, { caFile, servername: "localhost" }));
    const alice = await TestClient.connect(ejabberd, "alice", "alice-pw");
    try {
      await alice.send(xml("message", { to: "echo.localhost", type: "chat", id: "tls-1" }, xml("body", {}, "über TLS")));
      const reply = await alice.waitFor((el) => el.name === "message" && el.attrs.id === "tls-1");
      assert.equal(reply.getChildText("body"), "über TLS");
    } finally {
      await alice.stop();
      assert.equal(await annex.stop(), 0, annex.output);
    }
  });

  test("[ejabberd] a certificate the link does not trust is fatal, naming the setting to fix", async () => {
    const p = await AnnexProcess.start(config(ejabberd.componentPort, { servername: "localhost" }), { waitOnline: false });
    assert.equal(await p.exited, 78, p.output);
    // The chain ends in the test's own CA, which the system does not trust.
    assert.match(p.output, new RegExp(`^annex: SELF_SIGNED_CERT_IN_CHAIN: the TLS certificate of xmpp://127\\.0\\.0\\.1:${ejabberd.componentPort} is not trusted \\(SELF_SIGNED_CERT_IN_CHAIN: self[- ]signed certificate in certificate chain\\): set server\\.tls\\.caFile to the CA that signed it`, "m"));
  });

  test("[ejabberd] plain TCP against the TLS listener (which closes without a word) suggests server.tls", async () => {
    const line = new RegExp(`xmpp://127\\.0\\.0\\.1:${ejabberd.componentPort} closed the connection without sending an XMPP stream header: if that port expects TLS, set server\\.tls`);
    // doctor makes one attempt and gives the advice as its fix.
    const doctor = await AnnexProcess.start(config(ejabberd.componentPort, false), { command: ["doctor"], waitOnline: false });
    assert.equal(await doctor.exited, 78, doctor.output);
    assert.match(doctor.output, new RegExp(`FAIL the handshake failed \\(no-stream\\)\\n\\s+fix: ${line.source}`));
    // run keeps retrying (it could be passing), each time with the same advice, and stops cleanly.
    const run = await AnnexProcess.start(config(ejabberd.componentPort, false), { waitOnline: false });
    // The first attempt ends at the open timeout (server.timeoutMs, 5 s): the close itself is not an answer.
    await run.waitForOutput(line, 15_000);
    assert.equal(await run.stop(), 0, run.output);
  });

  test("[prosody] server.tls against Prosody's plain component port says it does not speak TLS", async () => {
    const p = await AnnexProcess.start(config(prosody.componentPort, { caFile }), { waitOnline: false });
    assert.equal(await p.exited, 78, p.output);
    assert.match(p.output, new RegExp(`^annex: ERR_SSL_WRONG_VERSION_NUMBER: xmpp://127\\.0\\.0\\.1:${prosody.componentPort} does not speak TLS \\(the TLS handshake got a plain-text answer\\): remove server\\.tls`, "m"));
  });

  test("a caFile that cannot be read is a config error naming the field", async () => {
    const p = await AnnexProcess.start(config(ejabberd.componentPort, { caFile: "no-such-ca.pem" }), { waitOnline: false });
    assert.equal(await p.exited, 78, p.output);
    assert.match(p.output, /server\.tls\.caFile: cannot read \/.*\/no-such-ca\.pem \(ENOENT\)/);
  });
});
