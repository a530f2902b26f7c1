// A small line chart as SVG text (no plotting library in the tree): one panel per metric,
// clients on a log2 x axis, one line per system. Enough for docs/PERFORMANCE.md.
export interface Series {
  name: string;
  colour: string;
  points: Array<{ x: number; y: number }>;
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const WIDTH = 420;
const HEIGHT = 300;
const MARGIN = { left: 60, right: 20, top: 36, bottom: 44 };

export function renderPanels(panels: Panel[]): string {
  const body = panels.map((panel, i) => `<g transform="translate(${i * WIDTH},0)">${renderPanel(panel)}</g>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${panels.length * WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>${body}</svg>\n`;
}

function renderPanel(panel: Panel): string {
  const xs = [...new Set(panel.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const yMax = niceCeiling(Math.max(...panel.series.flatMap((s) => s.points.map((p) => p.y)), 1));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const [lo, hi] = [Math.log2(xs[0] ?? 1), Math.log2(xs[xs.length - 1] ?? 2)];
  const sx = (x: number) => MARGIN.left + (hi === lo ? plotW / 2 : ((Math.log2(x) - lo) / (hi - lo)) * plotW);
  const sy = (y: number) => MARGIN.top + plotH - (y / yMax) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = sy(f * yMax);
    return `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${format(f * yMax)}</text>`;
  });
  const ticks = xs.map((x) => `<text x="${sx(x)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${x}</text>`);
  const lines = panel.series.map((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    const dots = s.points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.colour}"/>`).join('');
    const legend = `<rect x="${MARGIN.left + 8}" y="${MARGIN.top + 6 + i * 16}" width="10" height="10" fill="${s.colour}"/><text x="${MARGIN.left + 22}" y="${MARGIN.top + 15 + i * 16}">${escape(s.name)}</text>`;
    return `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>${dots}${legend}`;
  });
  const title = `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`;
  const xLabel = `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">clients</text>`;
  const yLabel = `<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(panel.unit)}</text>`;
  return [title, ...grid, ...ticks, ...lines, xLabel, yLabel].join('');
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((c) => c >= value)!;
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
