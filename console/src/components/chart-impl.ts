// uPlot and its stylesheet, loaded on demand (a separate chunk) so the first screen stays small. uPlot only
// sets element.style properties (CSSOM), which `style-src 'self'` allows; its CSS comes from a file, not inline.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  values: number[];
  /** Formats a value for the axis and the legend (e.g. USD). */
  format?: (value: number) => string;
}

function palette(): string[] {
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  return dark ? ['#7cb8ff', '#ffb86b', '#ff7b7b'] : ['#1f5fbf', '#b35900', '#b3261e'];
}

export function drawChart(container: HTMLElement, times: number[], series: SeriesSpec[]): () => void {
  const colors = palette();
  const axisColor = getComputedStyle(container).color;
  const width = Math.max(280, container.clientWidth);
  const options: uPlot.Options = {
    width,
    height: 220,
    scales: { x: { time: true } },
    axes: [
      { stroke: axisColor, grid: { stroke: 'rgba(128,128,128,0.2)' } },
      { stroke: axisColor, size: 80, grid: { stroke: 'rgba(128,128,128,0.2)' }, values: (_u, ticks) => ticks.map((v) => (series[0]?.format ? series[0].format(v) : String(v))) },
    ],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: colors[i % colors.length],
        width: 2,
        value: (_u: uPlot, v: number | null) => (v === null ? '—' : s.format ? s.format(v) : String(v)),
      })),
    ],
  };
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
  const plot = new uPlot(options, data, container);
  const resize = (): void => plot.setSize({ width: Math.max(280, container.clientWidth), height: 220 });
  window.addEventListener('resize', resize);
  return () => {
    window.removeEventListener('resize', resize);
    plot.destroy();
  };
}
