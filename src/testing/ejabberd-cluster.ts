import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { type EjabberdOptions, ManagedEjabberd } from "./ejabberd.js";
import { freePort } from "./ports.js";

/** What every node of a cluster gets alike; per-node things (folders, ports, Erlang name) the cluster picks. */
export interface EjabberdClusterOptions extends Omit<EjabberdOptions, "dir" | "ports" | "erlang" | "configYaml" | "users"> {
  /** How many nodes: 2 or 3 (default 2). Node i listens for Erlang distribution on 127.0.0.(i+1). */
  nodes?: number;
  /** Accounts, registered once on node 1 after the join (the accounts table is shared by every node). */
  users?: { username: string; password: string }[];
  /** How long a joining node may take to listen again after `join_cluster`; default 30 s (each start has ManagedEjabberd's own 30 s). */
  timeoutMs?: number;
}

/**
 * N ejabberd 23.01 nodes (2 or 3) on this machine, joined in one Erlang cluster with `ejabberdctl join_cluster`:
 * a client on one node reaches a component connected to another, because ejabberd's router table is shared
 * by the cluster and stanzas cross between nodes over Erlang distribution.
 *
 * Every node is a ManagedEjabberd (see there) with its own config folder, spool and logs (owned by the
 * `ejabberd` user), its own free c2s, component and HTTP ports, and the same config otherwise: the same hosts,
 * the same component listener (every component domain with its password, `global_routes: false`), the same
 * WebSocket/anonymous host when `web` is given. The nodes share one random cookie (`-setcookie` in ERL_OPTIONS,
 * never a cookie file in the system folder) and run without epmd: with ERL_DIST_PORT every node listens on, and
 * expects every other node on, one port, so node i listens on its own loopback address 127.0.0.(i+1) and is named
 * `annex<i+1>-<id>@localhost` (node 1) or `annex<i+1>-<id>@annexnode<i+1>` (resolved through each node's inetrc).
 *
 * `nodes[0]` is "node 1" in ejabberd's words, the node the others joined. Use `nodes[i].c2sPort`,
 * `nodes[i].componentPort`, `nodes[i].httpPort` and `host` as with a single ManagedEjabberd. Always `stop()`,
 * also after a failed test; a failed start stops whatever it had started.
 */
export class ManagedEjabberdCluster {
  readonly kind = "ejabberd" as const;

  private constructor(
    /** The running nodes, node 1 first; every one is a full ManagedEjabberd. */
    readonly nodes: ManagedEjabberd[],
    /** The ERL_DIST_PORT every node shares. */
    readonly distPort: number,
  ) {}

  /** The accounts host, the same on every node. */
  get host(): string {
    return this.nodes[0].host;
  }

  /**
   * Starts the nodes (in parallel), joins node 2.. to node 1 one at a time (join_cluster restarts the joining
   * node's ejabberd application, so it waits until that node listens again), checks with `list_cluster` that
   * node 1 sees them all, then registers the users.
   */
  static async start(options: EjabberdClusterOptions = {}): Promise<ManagedEjabberdCluster> {
    const count = options.nodes ?? 2;
    if (!Number.isInteger(count) || count < 2 || count > 3) throw new Error(`ManagedEjabberdCluster: nodes must be 2 or 3, got ${count}`);
    const { nodes: _count, users, timeoutMs = 30_000, ...shared } = options;
    const id = randomBytes(4).toString("hex");
    const cookie = randomBytes(12).toString("hex");
    const addresses = Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
    const distPort = await portFreeOnAll(addresses);
    const hostOf = (i: number) => (i === 0 ? "localhost" : `annexnode${i + 1}`);
    const hosts = Object.fromEntries(addresses.slice(1).map((ip, k) => [hostOf(k + 1), ip]));
    const started = await Promise.allSettled(
      addresses.map((ip, i) =>
        ManagedEjabberd.start({ ...shared, erlang: { node: `annex${i + 1}-${id}@${hostOf(i)}`, cookie, distPort, interface: ip, hosts } }),
      ),
    );
    const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const cluster = new ManagedEjabberdCluster(nodes, distPort);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await cluster.stop();
      throw failed.reason;
    }
    try {
      for (const node of nodes.slice(1)) await cluster.join(node, timeoutMs);
      const members = await cluster.listCluster();
      const missing = nodes.filter((n) => !members.includes(n.node)).map((n) => n.node);
      if (missing.length) throw new Error(`ejabberd cluster: list_cluster on ${nodes[0].node} lacks ${missing.join(", ")} (it shows ${members.join(", ")})`);
      for (const u of users ?? []) await nodes[0].register(u.username, u.password);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async join(node: ManagedEjabberd, timeoutMs: number): Promise<void> {
    const target = this.nodes[0].node;
    try {
      await node.ctl("join_cluster", target);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`ejabberdctl join_cluster ${target} on ${node.node} failed: ${e.stdout ?? ""}${e.stderr ?? ""}${e.message}\n${await node.logTail()}`);
    }
    await node.waitListening(timeoutMs);
  }

  /** The running nodes of the cluster as node 1 sees them (`ejabberdctl list_cluster`). */
  async listCluster(): Promise<string[]> {
    return (await this.nodes[0].ctl("list_cluster"))
      .split(/\s+/)
      .map((s) => s.replace(/^'|'$/g, ""))
      .filter(Boolean);
  }

  /**
   * Kills node i (0-based) at once, SIGKILL of its whole process group (the Erlang VM included): a crash, for
   * failure tests. The other nodes keep running and notice the lost node through Erlang distribution, and the
   * routes of components connected to it vanish with it. `nodes[i].launch()` starts it again: it rejoins the
   * cluster by itself (its Mnesia schema names the other nodes), with the same ports.
   */
  async killNode(i: number): Promise<void> {
    const node = this.nodes[i];
    if (!node) throw new Error(`ManagedEjabberdCluster: no node ${i} (there are ${this.nodes.length}, counted from 0)`);
    await node.kill();
  }

  /** Stops every node (those already killed too) and removes their folders; the last error, if any, is thrown after all are stopped. */
  async stop(): Promise<void> {
    const results = await Promise.allSettled([...this.nodes].reverse().map((n) => n.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/** A TCP port free on every one of the addresses (ERL_DIST_PORT is one port for the whole cluster). */
async function portFreeOnAll(addresses: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if ((await Promise.all(addresses.map((a) => canBind(port, a)))).every(Boolean)) return port;
  }
  throw new Error(`no TCP port free on all of ${addresses.join(", ")} after 20 tries`);
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
