import "uplot/dist/uPlot.min.css";
import uPlot from "uplot";

// A streaming line chart (uPlot: small, fast, no dependencies). Redraws at most once per animation frame
// however many items arrive, and follows the width of its container (narrow windows included).

export class Chart {
  private readonly plot: uPlot;
  private pending: [number[], number[]] | undefined;

  constructor(private readonly host: HTMLElement, label: string) {
    const axis = { stroke: "#d6dee6", grid: { stroke: "#2a3b4d", width: 1 }, ticks: { stroke: "#2a3b4d", width: 1 } };
    this.plot = new uPlot({
      width: this.width(),
      height: this.height(),
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 60 }],
      series: [{ label: "time" }, { label, stroke: "#ffd34d", width: 2, points: { show: false } }],
      legend: { live: false },
    }, [[], []], host);
    window.addEventListener("resize", () => this.plot.setSize({ width: this.width(), height: this.height() }));
  }

  /** Points currently drawn (the x column's length). */
  get length(): number {
    return this.plot.data[0].length;
  }

  show(columns: [number[], number[]]): void {
    if (!this.pending) requestAnimationFrame(() => this.flush());
    this.pending = columns;
  }

  private flush(): void {
    if (this.pending) this.plot.setData(this.pending);
    this.pending = undefined;
  }

  private width(): number {
    return Math.max(240, this.host.clientWidth);
  }

  private height(): number {
    return Math.round(Math.min(360, Math.max(200, this.width() * 0.45)));
  }
}
