// Hand-written SVG of latency distributions: one panel per phase, a percentile spectrum per server
// (x: percentile on a log scale of 1/(1-p), so 90, 99, 99.9, 99.99 are evenly spaced; y: latency
// in ms, log scale), the way HdrHistogram plots them. No dependencies.
import type { Histogram } from './histogram.js';

export interface Series {
  label: string;
  color: string;
  hist: Histogram;
}

export interface Panel {
  title: string;
  series: Series[];
}

export const SERVER_COLORS: Record<string, string> = { tszk: '#1f77b4', zookeeper: '#ff7f0e' };

/** One panel per histogram name any server has, a curve per server that has it, in first-seen order. */
export function comparisonPanels(
  results: ReadonlyArray<{ kind: string; histograms: ReadonlyMap<string, Histogram> }>,
  title: (name: string) => string = (name) => name,
): Panel[] {
  const names = [...new Set(results.flatMap((r) => [...r.histograms.keys()]))];
  return names.map((name) => ({
    title: title(name),
    series: results.flatMap((r) => {
      const hist = r.histograms.get(name);
      return hist === undefined ? [] : [{ label: r.kind, color: SERVER_COLORS[r.kind] ?? '#333', hist }];
    }),
  }));
}

const PANEL_W = 340;
const PANEL_H = 230;
const MARGIN = { left: 52, right: 12, top: 28, bottom: 34 };
const COLUMNS = 3;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** (x = log10(1/(1-p)), latency ms) points from p = 0 up to the last sample. */
function spectrum(h: Histogram): Array<[number, number]> {
  if (h.total === 0) return [];
  const xMax = Math.log10(h.total);
  const pts: Array<[number, number]> = [];
  for (let x = 0; x <= xMax + 1e-9; x += 0.05) {
    const p = 100 * (1 - 10 ** -x);
    pts.push([x, h.percentileUs(p) / 1000]);
  }
  pts.push([xMax, h.maxUs / 1000]);
  return pts;
}

function panelSvg(panel: Panel, ox: number, oy: number): string {
  const curves = panel.series.map((s) => ({ s, pts: spectrum(s.hist) })).filter((c) => c.pts.length > 0);
  const out: string[] = [];
  out.push(`<g transform="translate(${ox},${oy})">`);
  out.push(`<text x="${PANEL_W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  out.push(`<g transform="translate(${MARGIN.left},${MARGIN.top})">`);
  out.push(`<rect width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`);
  if (curves.length === 0) {
    out.push(`<text x="${plotW / 2}" y="${plotH / 2}" text-anchor="middle" font-size="11" fill="#888">no samples</text></g></g>`);
    return out.join('\n');
  }
  const all = curves.flatMap((c) => c.pts);
  const xMax = Math.max(3, Math.ceil(Math.max(...all.map((p) => p[0]))));
  const ys = all.map((p) => p[1]).filter((v) => v > 0);
  const yLo = Math.floor(Math.log10(Math.max(1e-3, Math.min(...ys))));
  const yHi = Math.max(yLo + 1, Math.ceil(Math.log10(Math.max(...ys))));
  const sx = (x: number): number => (x / xMax) * plotW;
  const sy = (ms: number): number => plotH - ((Math.log10(Math.max(ms, 10 ** yLo)) - yLo) / (yHi - yLo)) * plotH;
  for (let x = 0; x <= xMax; x++) {
    const label = x === 0 ? '0%' : `${(100 * (1 - 10 ** -x)).toFixed(Math.max(0, x - 2))}%`;
    out.push(`<line x1="${sx(x)}" y1="0" x2="${sx(x)}" y2="${plotH}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${sx(x)}" y="${plotH + 14}" text-anchor="middle" font-size="10">${label}</text>`);
  }
  for (let e = yLo; e <= yHi; e++) {
    const v = 10 ** e;
    out.push(`<line x1="0" y1="${sy(v)}" x2="${plotW}" y2="${sy(v)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="-4" y="${sy(v) + 3}" text-anchor="end" font-size="10">${v >= 1 ? v.toFixed(0) : v.toString()}</text>`);
  }
  out.push(`<text x="${plotW / 2}" y="${plotH + 28}" text-anchor="middle" font-size="10" fill="#555">percentile</text>`);
  out.push(`<text transform="translate(-40,${plotH / 2}) rotate(-90)" text-anchor="middle" font-size="10" fill="#555">latency ms (log)</text>`);
  for (const c of curves) {
    const d = c.pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${c.s.color}" stroke-width="1.8"/>`);
  }
  curves.forEach((c, i) => {
    const p50 = c.s.hist.percentileUs(50) / 1000;
    out.push(`<rect x="6" y="${6 + i * 14}" width="10" height="3" fill="${c.s.color}"/>`);
    out.push(`<text x="20" y="${11 + i * 14}" font-size="10">${esc(c.s.label)} (p50 ${p50 < 1 ? p50.toFixed(2) : p50.toFixed(1)} ms)</text>`);
  });
  out.push('</g></g>');
  return out.join('\n');
}

export function latencySvg(title: string, panels: readonly Panel[], note = ''): string {
  const rows = Math.ceil(panels.length / COLUMNS);
  const width = COLUMNS * PANEL_W;
  const headerH = note === '' ? 30 : 46;
  const height = headerH + rows * PANEL_H;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (note !== '') out.push(`<text x="10" y="38" font-size="11" fill="#555">${esc(note)}</text>`);
  panels.forEach((p, i) => out.push(panelSvg(p, (i % COLUMNS) * PANEL_W, headerH + Math.floor(i / COLUMNS) * PANEL_H)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
