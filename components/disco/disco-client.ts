import { AnnexError, type DiscoItem, type Element, type Identity, NS, type Sender, StanzaError, xml } from "annex";

/** What an entity said about itself (XEP-0030 §3.1). */
export interface InfoAnswer {
  identities: Identity[];
  features: string[];
  /** XEP-0128 extended information forms, as received. */
  forms: Element[];
}

/** Why a query got no usable answer, in words a person can read. */
export function describeFailure(err: unknown): string {
  if (err instanceof StanzaError) return err.text ? `${err.condition}: ${err.text}` : err.condition;
  if (err instanceof AnnexError && err.code === "ANNEX_ERR_IQ_TIMEOUT") return `timeout: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** disco#info and disco#items requests through the component's Sender, each with its own timeout. */
export class DiscoClient {
  private closed = false;

  constructor(
    private readonly sender: Sender,
    private readonly timeoutMs: number,
  ) {}

  async info(jid: string, node?: string): Promise<InfoAnswer> {
    const query = await this.query(NS.discoInfo, jid, node);
    return {
      identities: query.getChildren("identity").map((i) => ({
        category: String(i.attrs.category ?? ""),
        type: String(i.attrs.type ?? ""),
        name: i.attrs.name as string | undefined,
        lang: i.attrs["xml:lang"] as string | undefined,
      })),
      features: [...new Set(query.getChildren("feature").map((f) => String(f.attrs.var ?? "")).filter(Boolean))].sort(),
      forms: query.getChildren("x", NS.dataForms),
    };
  }

  async items(jid: string, node?: string): Promise<DiscoItem[]> {
    const query = await this.query(NS.discoItems, jid, node);
    return query
      .getChildren("item")
      .filter((i) => typeof i.attrs.jid === "string" && i.attrs.jid !== "")
      .map((i) => ({ jid: i.attrs.jid as string, node: i.attrs.node as string | undefined, name: i.attrs.name as string | undefined }));
  }

  /**
   * No query after this. Queries of a crawl still queued when the component stops must not reach
   * Sender.request(): once the sender is closed, a request's tracked response would reject unobserved.
   */
  close(): void {
    this.closed = true;
  }

  private async query(xmlns: string, jid: string, node: string | undefined): Promise<Element> {
    if (this.closed) throw new Error("the directory is stopping");
    const result = await this.sender.request(xml("iq", { type: "get", to: jid }, xml("query", { xmlns, node })), { timeoutMs: this.timeoutMs });
    // XEP-0030 §3.1/§4.1: the result carries the query; an empty result is read as an empty answer.
    return result.getChild("query", xmlns) ?? xml("query", { xmlns });
  }
}
