import "uplot/dist/uPlot.min.css";
import uPlot from "uplot";

// A streaming line chart (uPlot: small, fast, no dependencies). Redraws at most once per animation frame
// however many items arrive, and follows the width of its container (narrow windows included). The x axis
// shows a time window (the last N seconds, or everything); the y axis is labelled with the node's unit.

export class Chart {
  private plot: uPlot;
  private pending: { columns: [number[], number[]]; range: [number, number] | undefined } | undefined;
  private label = "value";

  constructor(private readonly host: HTMLElement) {
    this.plot = this.make([[], []]);
    window.addEventListener("resize", () => this.plot.setSize({ width: this.width(), height: this.height() }));
  }

  /** Points currently drawn (the x column's length). */
  get length(): number {
    return this.plot.data[0].length;
  }

  /** The x range drawn, in seconds since the epoch. */
  get xRange(): [number, number] {
    return [this.plot.scales.x!.min ?? NaN, this.plot.scales.x!.max ?? NaN];
  }

  get yLabel(): string {
    return this.label;
  }

  /** "value (USD)": the y axis label; the chart is made again (uPlot's axes are fixed at creation). */
  setUnit(unit: string | undefined): void {
    const label = unit ? `value (${unit})` : "value";
    if (label === this.label) return;
    this.label = label;
    const data = this.plot.data as [number[], number[]];
    this.plot.destroy();
    this.plot = this.make(data);
  }

  /** `range`: the time window to show, [from, to] in seconds; undefined = all the data. */
  show(columns: [number[], number[]], range?: [number, number]): void {
    if (!this.pending) requestAnimationFrame(() => this.flush());
    this.pending = { columns, range };
  }

  /**
   * Draws now what waits for the next animation frame. Pausing calls it: the chart then stops where the page
   * stood at the click, not one frame later with an item that arrived just before it.
   */
  settle(): void {
    this.flush();
  }

  private flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    if (!p.range) return this.plot.setData(p.columns);
    this.plot.setData(p.columns, false);
    this.plot.setScale("x", { min: p.range[0], max: p.range[1] });
  }

  private make(data: [number[], number[]]): uPlot {
    const axis = { stroke: "#d6dee6", grid: { stroke: "#2a3b4d", width: 1 }, ticks: { stroke: "#2a3b4d", width: 1 } };
    return new uPlot({
      width: this.width(),
      height: this.height(),
      scales: { x: { time: true }, y: { auto: true } },
      axes: [{ ...axis, label: "time (local)", labelSize: 24 }, { ...axis, size: 60, label: this.label, labelSize: 24 }],
      series: [{ label: "time" }, { label: this.label, stroke: "#ffd34d", width: 2, points: { show: false } }],
      legend: { live: false },
    }, data, this.host);
  }

  private width(): number {
    return Math.max(240, this.host.clientWidth);
  }

  private height(): number {
    return Math.round(Math.min(360, Math.max(200, this.width() * 0.45)));
  }
}
