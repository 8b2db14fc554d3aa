// A node:test reporter that adds one summary line per XMPP server to the run: the integration suite runs
// each file's tests in describe blocks named "[prosody] …" and "[ejabberd] …" (test/integration/support.ts).
// Used beside the spec reporter (see the Makefile); it prints nothing else.
// A suite reports after its children, so the leaves reported since are its own. (The runner reports one file
// after the other; a suite's own file is where describe() was called, so leaves are matched by order, not file.)
const SERVER = /^\[(prosody|ejabberd)\] /;

export default async function* serverSummary(source) {
  const counts = new Map(); // server -> { pass, fail, files }
  let pending = []; // leaves not yet claimed by a suite: { nesting, passed, file }
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name, nesting, file, details } = event.data;
    if (details?.type !== "suite") {
      pending.push({ nesting, passed: event.type === "test:pass", file });
      continue;
    }
    const mine = pending.filter((l) => l.nesting > nesting);
    pending = pending.filter((l) => l.nesting <= nesting);
    const server = SERVER.exec(name)?.[1];
    if (!server) {
      // Not a server block: its leaves go up to an enclosing one, if any.
      pending.push(...mine.map((l) => ({ ...l, nesting })));
      continue;
    }
    const c = counts.get(server) ?? { pass: 0, fail: 0, files: new Set() };
    for (const l of mine) {
      if (l.passed) c.pass++;
      else c.fail++;
      c.files.add(l.file);
    }
    // A block whose before hook failed reports no leaves: count it as one failure, not as nothing.
    if (event.type === "test:fail" && mine.every((l) => l.passed)) c.fail++;
    counts.set(server, c);
  }
  if (counts.size === 0) return;
  yield "\n";
  for (const [server, c] of [...counts].sort()) {
    yield `ℹ server ${server}: ${c.pass + c.fail} tests in ${c.files.size} files, ${c.pass} pass, ${c.fail} fail\n`;
  }
}
