// Variant A: the raw @xmpp/component 0.13.1 echo of research §4.1, as a user would write it (no framework).
// With `iq <n>` it instead registers n iqCallee handlers for urn:bench:0..n-1 (scenario IQ dispatch).
// usage: node raw-echo.mjs <host:port> <domain> [iq <n>]   (secret in $BENCH_SECRET)
import xmppComponent from "@xmpp/component";

const { component, xml } = xmppComponent;
const [hostPort, domain, mode, count] = process.argv.slice(2);
const xmpp = component({ service: `xmpp://${hostPort}`, domain, password: process.env.BENCH_SECRET ?? "" });

if (mode === "iq") {
  // A truthy return is an empty result; unhandled namespaces get service-unavailable from iqCallee.
  for (let k = 0; k < Number(count); k++) xmpp.iqCallee.get(`urn:bench:${k}`, "query", () => true);
} else {
  xmpp.on("stanza", (s) => {
    if (!s.is("message") || s.attrs.type === "error") return;
    xmpp
      .send(xml("message", { to: s.attrs.from, from: s.attrs.to, id: s.attrs.id, type: "chat" }, xml("body", {}, s.getChildText("body"))))
      .catch(() => undefined);
  });
}
xmpp.on("error", (err) => console.error(`raw: ${err.message}`));
process.on("SIGTERM", () => xmpp.stop().finally(() => process.exit(0)));
await xmpp.start();
