import { inject } from "tsyringe";
import { Service } from "../handlers/decorators.js";
import type { Identity } from "../handlers/metadata.js";
import { HandlerRegistry } from "../handlers/registry.js";
import { ComponentInstances } from "../handlers/tokens.js";
import type { IncomingIq } from "../dispatch/incoming.js";
import type { Element } from "../stanza/xml.js";

/** XEP-0030 §4.1 item. */
export interface DiscoItem {
  jid: string;
  node?: string;
  name?: string;
}

/** What a @DiscoInfo() provider returns for a node (or extra info for the domain itself). */
export interface DiscoInfoResult {
  identities?: Identity[];
  features?: string[];
  /** XEP-0128 extended information: jabber:x:data forms of type result. */
  forms?: Element[];
}

type Provider<T> = (node: string | undefined, iq: IncomingIq) => T | undefined | Promise<T | undefined>;

/** Reads disco answers from the registry and the component's @DiscoInfo/@DiscoItems providers. */
@Service()
export class DiscoCatalog {
  constructor(
    @inject(HandlerRegistry) readonly registry: HandlerRegistry,
    @inject(ComponentInstances) private readonly instances: ComponentInstances,
  ) {}

  /** undefined = no such node. */
  async info(node: string | undefined, iq: IncomingIq): Promise<DiscoInfoResult | undefined> {
    const provided = await this.ask<DiscoInfoResult>("info", node, iq);
    if (node !== undefined) return provided[0];
    const base: DiscoInfoResult = { identities: this.registry.identities, features: this.registry.features, forms: [] };
    for (const extra of provided) {
      base.identities!.push(...(extra.identities ?? []));
      base.features!.push(...(extra.features ?? []));
      base.forms!.push(...(extra.forms ?? []));
    }
    base.features = [...new Set(base.features)].sort();
    return base;
  }

  /** undefined = no such node. */
  async items(node: string | undefined, iq: IncomingIq): Promise<DiscoItem[] | undefined> {
    const provided = await this.ask<DiscoItem[]>("items", node, iq);
    if (node !== undefined) return provided[0];
    return provided.flat();
  }

  private async ask<T>(kind: "info" | "items", node: string | undefined, iq: IncomingIq): Promise<T[]> {
    const answers: T[] = [];
    for (const provider of this.registry.discoProviders.filter((p) => p.kind === kind)) {
      const instance = this.instances.of(provider.owner) as Record<string | symbol, Provider<T>>;
      const answer = await instance[provider.method]!.call(instance, node, iq);
      if (answer !== undefined) answers.push(answer);
    }
    return answers;
  }
}
