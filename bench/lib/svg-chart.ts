// A line chart as SVG text, with a linear x axis from 0 and a logarithmic y axis: enough for
// latency against load, with no dependency. Series are polylines with a dot at each point.

export interface Series {
  name: string;
  color: string;
  /** Stroke dash pattern, e.g. "6 4"; solid when absent. */
  dash?: string;
  points: { x: number; y: number }[];
}

export interface ChartSpec {
  title: string;
  /** One or two lines under the title. */
  subtitle: string[];
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Horizontal reference lines (a target). */
  rules?: { y: number; label: string }[];
}

const W = 800;
const M = { left: 64, right: 24, top: 96, bottom: 52 };
const H = 500;

const RULE = "#2a2";

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A round upper bound for the x axis and its step: 1, 2 or 5 × a power of ten, about 5 ticks. */
function xScale(max: number): { top: number; step: number } {
  const raw = Math.max(max, 1) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  return { top: Math.ceil(max / step) * step, step };
}

const label = (n: number) => (n >= 1000 ? n.toLocaleString("en-US") : String(n));

export function lineChart(spec: ChartSpec): string {
  const points = spec.series.flatMap((s) => s.points).filter((p) => p.y > 0 && Number.isFinite(p.y));
  const ys = [...points.map((p) => p.y), ...(spec.rules ?? []).map((r) => r.y)];
  const low = Math.floor(Math.log10(Math.max(0.1, Math.min(...ys, 1))));
  const high = Math.ceil(Math.log10(Math.max(...ys, 10)));
  const x = xScale(Math.max(...points.map((p) => p.x), 1) * 1.04);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (v: number) => M.left + (v / x.top) * plotW;
  const py = (v: number) => M.top + plotH - ((Math.log10(v) - low) / (high - low)) * plotH;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="600">${escape(spec.title)}</text>`,
    ...spec.subtitle.map(
      (line, i) => `<text x="${M.left}" y="${42 + i * 15}" fill="#555">${escape(line)}</text>`,
    ),
  ];
  // Grid and ticks: y at 1, 2 and 5 of each decade (labelled), x at round steps.
  for (let d = low; d <= high; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) > high + 1e-9) continue;
      const y = f(py(v));
      const stroke = m === 1 ? "#ccc" : "#eee";
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="${stroke}"/>`);
      const text = v < 1 ? v.toFixed(1) : label(v);
      out.push(`<text x="${M.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#444">${text}</text>`);
    }
  }
  for (let v = 0; v <= x.top + 1e-9; v += x.step) {
    const xx = f(px(v));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${M.top + plotH + 16}" text-anchor="middle" fill="#444">${label(v)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">${escape(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">` +
      `${escape(spec.yLabel)}</text>`,
  );
  for (const rule of spec.rules ?? []) {
    const y = f(py(rule.y));
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="${RULE}" stroke-dasharray="2 3"/>`,
    );
  }
  for (const s of spec.series) {
    const pts = s.points.filter((p) => p.y > 0 && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : "";
    const line = pts.map((p) => `${f(px(p.x))},${f(py(p.y))}`).join(" ");
    out.push(`<polyline points="${line}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const p of pts) {
      out.push(
        `<circle cx="${f(px(p.x))}" cy="${f(py(p.y))}" r="3.5" fill="${s.color}">` +
          `<title>${escape(`${s.name}: ${label(p.x)} msgs/s → ${p.y} ms`)}</title></circle>`,
      );
    }
  }
  // Legend, one row between the subtitle and the plot: the series, then the rules.
  const legend = [
    ...spec.series.map((s) => ({ name: s.name, color: s.color, dash: s.dash, width: 2 })),
    ...(spec.rules ?? []).map((r) => ({ name: r.label, color: RULE, dash: "2 3", width: 1 })),
  ];
  let lx = M.left;
  for (const item of legend) {
    const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : "";
    out.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="80" y2="80" stroke="${item.color}" stroke-width="${item.width}"${dash}/>`,
      `<text x="${lx + 34}" y="84">${escape(item.name)}</text>`,
    );
    lx += 44 + item.name.length * 7;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
