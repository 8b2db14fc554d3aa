import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chownSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";

const execFileAsync = promisify(execFile);

/** The newest Debian PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin). */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "postgres"))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: "apt-get install -y postgresql" (or "make deps")');
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

/** As root, PostgreSQL refuses to run: use the postgres user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

/** The `pg` driver, loaded on first use: it is an optional peer dependency of the framework. */
async function loadPg(): Promise<typeof import("pg").default> {
  try {
    return (await import("pg")).default;
  } catch {
    throw new Error('ManagedPostgres needs the "pg" package: npm install pg');
  }
}

/**
 * A private PostgreSQL for tests (Debian's `postgresql` package): its own data folder, a free port, the socket
 * in its folder, trust authentication for the `postgres` user. Start it once per test file, create one
 * database per test with createDatabase(), stop it in `after`.
 */
export class ManagedPostgres {
  private databases = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(): Promise<ManagedPostgres> {
    const pg = await loadPg();
    const bin = binDir();
    const dir = await mkdtemp(join(tmpdir(), "annex-pg-"));
    if (process.getuid?.() === 0) {
      const { uid, gid } = await postgresIds();
      chownSync(dir, uid, gid);
    }
    const data = join(dir, "data");
    await execFileAsync(...asPostgres(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]));
    const port = await freePort();
    const [cmd, args] = asPostgres(join(bin, "postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"]);
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const server = new ManagedPostgres(dir, port, child, exited);
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const c = new pg.Client(server.url("postgres"));
        await c.connect();
        await c.end();
        return server;
      } catch (err) {
        if (child.exitCode !== null || Date.now() > deadline) {
          await server.stop();
          throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** A new, empty database; returns its URL. */
  async createDatabase(prefix = "db"): Promise<string> {
    const name = `${prefix}_${++this.databases}`;
    const pg = await loadPg();
    const c = new pg.Client(this.url("postgres"));
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return this.url(name);
  }

  /** kill -9 of the postmaster (for failure tests); stop() still cleans up. */
  kill(): void {
    const pidFile = join(this.dir, "data", "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : undefined;
    if (pid) process.kill(pid, "SIGKILL");
    else this.child.kill("SIGKILL");
  }

  /** Fast shutdown (SIGINT to the postmaster), then removes the folder. */
  async stop(): Promise<void> {
    const pidFile = join(this.dir, "data", "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : undefined;
    try {
      if (pid) process.kill(pid, "SIGINT");
      else this.child.kill("SIGINT");
    } catch {
      // already gone (killed by a test)
    }
    const timer = setTimeout(() => this.kill(), 10_000);
    await this.exited;
    clearTimeout(timer);
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await execFileAsync("id", ["-u", "postgres"]);
  const { stdout: gid } = await execFileAsync("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
