/** A uPlot chart: lines, bars or points over integer x values (epochs, rounds). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  kind?: "line" | "step" | "bars" | "points";
}

export interface ChartProps {
  id: string;
  title: string;
  x: number[];
  xLabel: string;
  yLabel: string;
  series: Series[];
  height?: number;
}

const bars = uPlot.paths.bars!({ size: [0.7, 48] });
const stepped = uPlot.paths.stepped!({ align: 1 });

export function Chart({ id, title, x, xLabel, yLabel, series, height = 220 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height,
      scales: { x: { time: false } },
      axes: [
        { label: xLabel, stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, incrs: [1, 2, 5, 10, 20, 50, 100] },
        { label: yLabel, stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, size: 70 },
      ],
      legend: { show: true, live: false },
      series: [
        { label: xLabel },
        ...series.map((s): uPlot.Series => {
          const kind = s.kind ?? "line";
          return {
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(kind === "bars" && { paths: bars, fill: `${s.color}cc`, points: { show: false } }),
            ...(kind === "step" && { paths: stepped }),
            ...(kind === "points" && {
              paths: () => null,
              points: { show: true, size: 9, fill: s.color, stroke: s.color },
            }),
          };
        }),
      ],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, height, xLabel, yLabel]);
  return (
    <figure class="chart" data-chart={id}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
