import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../../app/theme';

/**
 * A time-series chart on a canvas (uPlot: 100,000+ points and live appends without a hiccup). Drag across
 * it to zoom into that span (`onZoom` gets it, so the page can load finer data); double-click goes back.
 * Threshold lines (alert rules) are drawn across the plot in their colour.
 */

export interface ChartSeries {
  label: string;
  /** One value per x; null where there is no data (a gap). */
  values: (number | null)[];
  color: string;
  unit?: string;
}

export interface ChartThreshold {
  value: number;
  label: string;
  color: string;
}

export interface TimeSeriesChartProps {
  /** Epoch ms, ascending. */
  times: number[];
  series: ChartSeries[];
  thresholds?: ChartThreshold[];
  height?: number;
  /** The visible x range in epoch ms (the query's window), so an empty tail shows as empty. */
  range?: { from: number; to: number };
  onZoom?: (range: { from: number; to: number }) => void;
  /** For screen readers and the figure's title. */
  title: string;
  yRange?: [number, number];
}

function axisColors(dark: boolean) {
  return dark
    ? { stroke: '#cbd5e1', grid: 'rgba(148,163,184,0.15)' }
    : { stroke: '#334155', grid: 'rgba(100,116,139,0.15)' };
}

export function TimeSeriesChart({
  times,
  series,
  thresholds = [],
  height = 220,
  range,
  onZoom,
  title,
  yRange,
}: TimeSeriesChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const thresholdsRef = useRef(thresholds);
  thresholdsRef.current = thresholds;
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const { dark } = useTheme();
  const shape = `${series.map((s) => `${s.label}|${s.color}`).join(',')}|${dark}|${height}|${yRange?.join(',') ?? ''}`;

  // Built again only when the series set, theme or size changes; data updates go through setData.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `shape` stands for series, theme and size.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const colors = axisColors(dark);
    const axis = { stroke: colors.stroke, grid: { stroke: colors.grid }, ticks: { stroke: colors.grid } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      ms: 1,
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: true },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const r = rangeRef.current;
            return r ? [r.from, r.to] : [min, max];
          },
        },
        y: yRange ? { range: yRange } : { auto: true },
      },
      axes: [axis, { ...axis, size: 52 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) =>
            v === null || v === undefined ? '—' : `${v.toFixed(1)}${s.unit ?? ''}`,
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomRef.current?.({ from: Math.round(from), to: Math.round(to) });
          },
        ],
        draw: [
          (u) => {
            const ctx = u.ctx;
            const { left, width, top, height: h } = u.bbox;
            ctx.save();
            ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
            ctx.lineWidth = uPlot.pxRatio;
            ctx.font = `${11 * uPlot.pxRatio}px sans-serif`;
            ctx.textAlign = 'right';
            // Labels right-aligned above their line; one that would overlap the previous label is left out
            // (the legend and the rule editor name every level).
            let lastLabelY = Number.NEGATIVE_INFINITY;
            const sorted = [...thresholdsRef.current].sort((a, b) => b.value - a.value);
            for (const t of sorted) {
              const y = u.valToPos(t.value, 'y', true);
              if (y < top || y > top + h) continue;
              ctx.strokeStyle = t.color;
              ctx.fillStyle = t.color;
              ctx.beginPath();
              ctx.moveTo(left, y);
              ctx.lineTo(left + width, y);
              ctx.stroke();
              if (y - lastLabelY >= 13 * uPlot.pxRatio) {
                ctx.fillText(t.label, left + width - 4 * uPlot.pxRatio, y - 3 * uPlot.pxRatio);
                lastLabelY = y;
              }
            }
            ctx.restore();
          },
        ],
      },
    };
    const u = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([times, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  // Threshold lines and the window are read when drawing: redraw when they change.
  const thresholdKey = thresholds.map((t) => `${t.value}:${t.color}`).join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: redraw on new thresholds or window.
  useEffect(() => {
    plot.current?.setScale(
      'x',
      range ? { min: range.from, max: range.to } : { min: times[0] ?? 0, max: times.at(-1) ?? 1 },
    );
  }, [thresholdKey, range?.from, range?.to]);

  return (
    <figure aria-label={title} className="w-full">
      <div ref={box} data-testid="chart" className="w-full" />
    </figure>
  );
}
