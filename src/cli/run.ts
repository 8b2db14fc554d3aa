import { ErrorCode, type FatalLinkError } from "../errors.js";
import type { LoadedConfig } from "../config/load.js";
import { createLogger } from "../ops/logger.js";
import type { Catalogue } from "../runtime/catalogue.js";
import { Runner } from "../runtime/runner.js";
import { type CliIo, EXIT, reportStartupError } from "./io.js";

/** `annex run`: resolves with the exit code once stopped by a signal, or at once on a fatal link error. */
export async function runComponents(config: LoadedConfig, catalogue: Catalogue, io: CliIo): Promise<number> {
  const log = createLogger(config.log.level, config.log.pretty);
  let runner: Runner;
  try {
    runner = await Runner.create(config, { catalogue, log });
  } catch (err) {
    return reportStartupError(err, io);
  }

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, "second signal: exiting now");
        process.exit(EXIT.failure);
      }
      stopping = true;
      log.info({ signal }, "stopping");
      runner.stop().then(
        () => resolve(EXIT.ok),
        (err: unknown) => {
          log.error({ err }, "error while stopping");
          resolve(EXIT.failure);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const fatal = new Promise<number>((resolve) => {
    runner.on("fatal", (err: FatalLinkError) => {
      io.err(`annex: ${err.failure.condition}: ${err.message}`);
      void runner.stop({ drainMs: 0 }).finally(() => resolve(EXIT.config));
    });
  });
  const failedToStart = runner.start().then(
    () => new Promise<number>(() => undefined),
    (err: unknown) => {
      // Fatal link errors are reported above; anything else (e.g. the metrics port is taken) ends here.
      if ((err as { code?: string }).code === ErrorCode.LinkFatal) return new Promise<number>(() => undefined);
      const code = reportStartupError(err, io); // a taken metrics.port is a config problem: exit 78
      return runner.stop({ drainMs: 0 }).then(() => code);
    },
  );
  return Promise.race([stopped, fatal, failedToStart]);
}
