// Horizontal grouped bar charts as plain SVG text: one group per scenario, one bar per contender,
// a whisker for the min–max over the rounds and a dashed line at the baseline value.

const escapeXml = (text) =>
  String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]);

const round = (value) => Math.round(value * 10) / 10;

/** A tick step of 1, 2 or 5 times a power of ten giving about `count` ticks up to `max`. */
function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

/**
 * chart = { title, subtitle, axisLabel, baseline, series: [{ name, color }],
 *           groups: [{ label, bars: [{ value, min, max, text } | null] }] }  (bars in series order)
 */
export function barChart(chart) {
  const width = 960;
  const left = 210;
  const right = 250;
  const top = 70;
  const barHeight = 16;
  const barGap = 3;
  const groupGap = 16;
  const plotWidth = width - left - right;
  const seriesCount = chart.series.length;
  const groupHeight = seriesCount * (barHeight + barGap) - barGap;
  const plotHeight = chart.groups.length * (groupHeight + groupGap) - groupGap;
  const legendY = top + plotHeight + 62;
  const height = legendY + 30;

  let maxValue = chart.baseline ?? 0;
  for (const group of chart.groups) {
    for (const bar of group.bars) if (bar) maxValue = Math.max(maxValue, bar.max ?? bar.value, bar.value);
  }
  if (!(maxValue > 0)) maxValue = 1;
  const step = niceStep(maxValue * 1.05, 6);
  const axisMax = Math.ceil((maxValue * 1.05) / step) * step;
  const x = (value) => left + (Math.max(0, value) / axisMax) * plotWidth;

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`);
  if (chart.subtitle) out.push(`<text x="${left}" y="44" fill="#555555">${escapeXml(chart.subtitle)}</text>`);

  // grid and axis
  for (let tick = 0; tick <= axisMax + step / 2; tick += step) {
    const tx = round(x(tick));
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + plotHeight}" stroke="#e6e6e6"/>`);
    const label = Number.isInteger(step) ? String(tick) : tick.toFixed(Math.max(0, -Math.floor(Math.log10(step))));
    out.push(`<text x="${tx}" y="${top + plotHeight + 16}" text-anchor="middle" fill="#555555">${escapeXml(label)}</text>`);
  }
  if (chart.axisLabel) {
    out.push(`<text x="${left + plotWidth / 2}" y="${top + plotHeight + 32}" text-anchor="middle" fill="#333333">${escapeXml(chart.axisLabel)}</text>`);
  }

  chart.groups.forEach((group, g) => {
    const groupTop = top + g * (groupHeight + groupGap);
    out.push(
      `<text x="${left - 10}" y="${round(groupTop + groupHeight / 2 + 4)}" text-anchor="end" font-weight="bold">${escapeXml(group.label)}</text>`,
    );
    group.bars.forEach((bar, s) => {
      const y = groupTop + s * (barHeight + barGap);
      const color = chart.series[s].color;
      if (!bar || !Number.isFinite(bar.value)) {
        out.push(`<text x="${left + 4}" y="${y + 12}" fill="#c92a2a">${escapeXml(`${chart.series[s].name}: no result`)}</text>`);
        return;
      }
      const barEnd = x(bar.value);
      out.push(
        `<rect x="${left}" y="${y}" width="${round(barEnd - left)}" height="${barHeight}" fill="${color}"><title>${escapeXml(`${chart.series[s].name}: ${bar.text}`)}</title></rect>`,
      );
      let labelX = barEnd;
      if (Number.isFinite(bar.min) && Number.isFinite(bar.max) && bar.max > bar.min) {
        const mid = round(y + barHeight / 2);
        const x1 = round(x(bar.min));
        const x2 = round(x(bar.max));
        out.push(`<line x1="${x1}" y1="${mid}" x2="${x2}" y2="${mid}" stroke="#222222"/>`);
        out.push(`<line x1="${x1}" y1="${mid - 4}" x2="${x1}" y2="${mid + 4}" stroke="#222222"/>`);
        out.push(`<line x1="${x2}" y1="${mid - 4}" x2="${x2}" y2="${mid + 4}" stroke="#222222"/>`);
        labelX = Math.max(labelX, x(bar.max));
      }
      out.push(`<text x="${round(labelX + 6)}" y="${y + 12}" fill="#222222">${escapeXml(bar.text)}</text>`);
    });
  });

  if (chart.baseline !== undefined) {
    const bx = round(x(chart.baseline));
    out.push(`<line x1="${bx}" y1="${top - 6}" x2="${bx}" y2="${top + plotHeight}" stroke="#444444" stroke-dasharray="4 3"/>`);
  }

  let legendX = left;
  for (const series of chart.series) {
    out.push(`<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${series.color}"/>`);
    out.push(`<text x="${legendX + 18}" y="${legendY}">${escapeXml(series.name)}</text>`);
    legendX += 28 + series.name.length * 7;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
