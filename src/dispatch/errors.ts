/** Coded errors for programming mistakes at the framework boundary (stable names, like Fastify's). */
export class AnnexError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "AnnexError";
    this.code = code;
  }
}

export const errors = {
  noTo: (name: string) => new AnnexError("ANNEX_ERR_NO_TO", `outbound <${name}/> has no 'to': every stanza a component sends needs one (XEP-0114 §3)`),
  foreignFrom: (from: string, domain: string) =>
    new AnnexError("ANNEX_ERR_FOREIGN_FROM", `outbound 'from' ${from} is outside the component's domain ${domain}; the server would close the stream`),
  notStanza: (name: string) => new AnnexError("ANNEX_ERR_NOT_STANZA", `can only send message, presence or iq, not <${name}/>`),
  iqTimeout: (to: string, ms: number) => new AnnexError("ANNEX_ERR_IQ_TIMEOUT", `no reply from ${to} within ${ms} ms`),
  iqNotRequest: () => new AnnexError("ANNEX_ERR_IQ_NOT_REQUEST", "request() takes an <iq type='get'|'set'/>"),
  linkDown: (reason: string) => new AnnexError("ANNEX_ERR_LINK_DOWN", `the link to the server went down: ${reason}`),
  stopping: () => new AnnexError("ANNEX_ERR_STOPPING", "the component is stopping; nothing more is sent"),
};
