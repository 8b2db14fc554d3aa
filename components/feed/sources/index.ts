import type { FeedSink } from "../publish.js";
import { HttpIngest } from "./http.js";
import { Ticker } from "./ticker.js";

/** Something the feed started in onStart and must close in onStop. */
export interface RunningSource {
  stop(): Promise<void>;
}

/** Starts the configured sources (tickers) and the HTTP ingest. */
export async function startSources(service: FeedSink): Promise<RunningSource[]> {
  const running: RunningSource[] = [];
  try {
    for (const source of service.options.sources) running.push(Ticker.start(service, source));
    if (service.options.http) running.push(await HttpIngest.start(service, service.options.http));
  } catch (err) {
    for (const r of running) await r.stop();
    throw err;
  }
  return running;
}
