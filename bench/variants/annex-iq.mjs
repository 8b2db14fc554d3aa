// Bench-only Annex components for the IQ dispatch scenario: one with 50 @Iq handlers
// (urn:bench:0..49), one with a single handler (urn:bench:0). Run with `annex run --config`, type
// {"module": "bench/variants/annex-iq.mjs", "export": "Iq50"}. Plain JavaScript: the decorators are
// applied by hand, exactly as TypeScript's emitted code would apply them.
import { Component, Iq } from "annex";

function withIqHandlers(name, count) {
  const cls = { [name]: class {} }[name];
  for (let k = 0; k < count; k++) {
    const method = `query${k}`;
    // An empty result (RFC 6120 §8.2.3): the handler returns nothing.
    cls.prototype[method] = function () {};
    const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, method);
    Iq({ type: "get", child: "query", xmlns: `urn:bench:${k}` })(cls.prototype, method, descriptor);
  }
  Component({ identity: { category: "component", type: "generic", name: `bench ${name}` } })(cls);
  return cls;
}

export const Iq50 = withIqHandlers("Iq50", 50);
export const Iq1 = withIqHandlers("Iq1", 1);
