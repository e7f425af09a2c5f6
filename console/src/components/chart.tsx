import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { SeriesSpec } from './chart-impl';

/** A time-series chart; the chart library loads only when a screen shows one. */
export function Chart(props: { title: string; times: number[]; series: SeriesSpec[] }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let dispose: (() => void) | null = null;
    let live = true;
    import('./chart-impl').then(
      (mod) => {
        if (live && ref.current) dispose = mod.drawChart(ref.current, props.times, props.series);
      },
      () => setFailed(true),
    );
    return () => {
      live = false;
      dispose?.();
    };
  }, [props.times, props.series]);
  const summary = props.series.map((s) => `${s.label}: ${props.times.length} points`).join('; ');
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={ref} role="img" aria-label={`${props.title}. ${summary}`} />
      {failed ? <p class="error">The chart could not be loaded.</p> : null}
    </figure>
  );
}
