import type { Item } from "./pubsub.js";

/**
 * The node's items the page holds, in publish order (oldest first), each id once. History pages are
 * prepended, live and catch-up items appended; an item seen twice (a notification that also came in a
 * page) is kept once, so merging overlapping sources never duplicates and never reorders.
 */
export class Series {
  readonly items: Item[] = [];
  private readonly ids = new Set<string>();

  get first(): Item | undefined {
    return this.items[0];
  }

  get last(): Item | undefined {
    return this.items[this.items.length - 1];
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Older items (a page from before `first`), oldest first. */
  prepend(older: Item[]): number {
    const fresh = older.filter((i) => !this.ids.has(i.id));
    for (const i of fresh) this.ids.add(i.id);
    this.items.unshift(...fresh);
    return fresh.length;
  }

  /** Newer items, oldest first. */
  append(newer: Item[]): number {
    let added = 0;
    for (const i of newer) {
      if (this.ids.has(i.id)) continue;
      this.ids.add(i.id);
      this.items.push(i);
      added++;
    }
    return added;
  }

  clear(): void {
    this.items.length = 0;
    this.ids.clear();
  }

  /** uPlot's columns: x (seconds) must not go backwards, so a late timestamp is drawn at its predecessor's time. */
  columns(): [number[], number[]] {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const i of this.items) {
      if (!Number.isFinite(i.value)) continue;
      xs.push(xs.length ? Math.max(xs[xs.length - 1]!, i.time) : i.time);
      ys.push(i.value);
    }
    return [xs, ys];
  }
}
