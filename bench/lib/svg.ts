/**
 * A small SVG bar chart, no dependency: one panel per target x workload, bars grouped by concurrency, one colour
 * per driver, each panel on its own linear scale from zero. Each bar's <title> gives its figures on hover.
 */
import type { ResultRecord } from "./report.js"

const PANEL_W = 440
const PANEL_H = 230
const PAD = { left: 58, right: 12, top: 30, bottom: 34 }
const LEGEND_H = 34
const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"]

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** 1, 2 or 5 times a power of ten, at least `max / 4`, so four ticks cover `max`. */
const niceStep = (max: number): number => {
  const raw = max / 4
  const pow = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow
  return 10 * pow
}

const short = (x: number): string =>
  x >= 1e6 ? `${+(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${+(x / 1e3).toFixed(1)}k` : `${+x.toFixed(1)}`

export const throughputChart = (records: ReadonlyArray<ResultRecord>, title: string): string => {
  const drivers = [...new Set(records.map((r) => r.driver))]
  const panels = [...new Set(records.map((r) => `${r.target}\u0000${r.workload}`))]
  const targets = [...new Set(records.map((r) => r.target))]
  const cols = Math.max(1, targets.length)
  const rows = Math.ceil(panels.length / cols)
  const width = cols * PANEL_W
  const height = LEGEND_H + rows * PANEL_H + 8
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="14" font-size="13" font-weight="bold">${escape(title)}</text>`
  ]
  let lx = 8
  drivers.forEach((d, i) => {
    out.push(`<rect x="${lx}" y="21" width="10" height="10" fill="${palette[i % palette.length]}"/>`)
    out.push(`<text x="${lx + 14}" y="30">${escape(d)}</text>`)
    lx += 24 + d.length * 6.5
  })
  // Panels are laid out target by column, so one column reads one target top to bottom.
  const byTarget = targets.map((t) => panels.filter((p) => p.startsWith(`${t}\u0000`)))
  byTarget.forEach((column, c) => {
    column.forEach((panel, r) => {
      const [target, workload] = panel.split("\u0000") as [string, string]
      const cell = records.filter((x) => x.target === target && x.workload === workload)
      const concurrencies = [...new Set(cell.map((x) => x.concurrency))].sort((a, b) => a - b)
      const x0 = c * PANEL_W + PAD.left
      const y0 = LEGEND_H + r * PANEL_H + PAD.top
      const w = PANEL_W - PAD.left - PAD.right
      const h = PANEL_H - PAD.top - PAD.bottom
      const max = Math.max(1, ...cell.map((x) => (Number.isFinite(x.opsPerSec) ? x.opsPerSec : 0)))
      const step = niceStep(max)
      const top = Math.ceil(max / step) * step
      const unit = workload === "stream" ? "rows/s" : "ops/s"
      out.push(`<text x="${x0}" y="${y0 - 10}" font-weight="bold">${escape(`${target}: ${workload}`)} (${unit})</text>`)
      for (let v = 0; v <= top + step / 2; v += step) {
        const y = y0 + h - (v / top) * h
        out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#ddd"/>`)
        out.push(`<text x="${x0 - 4}" y="${y + 4}" text-anchor="end">${short(v)}</text>`)
      }
      const groupW = w / Math.max(1, concurrencies.length)
      const barW = (groupW * 0.8) / Math.max(1, drivers.length)
      concurrencies.forEach((conc, g) => {
        const gx = x0 + g * groupW + groupW * 0.1
        out.push(`<text x="${gx + groupW * 0.4}" y="${y0 + h + 14}" text-anchor="middle">${conc} in flight</text>`)
        drivers.forEach((d, i) => {
          const rec = cell.find((x) => x.concurrency === conc && x.driver === d)
          if (rec === undefined || !Number.isFinite(rec.opsPerSec)) return
          const bh = (rec.opsPerSec / top) * h
          const tip = `${d}, ${conc} in flight: ${rec.opsPerSec.toLocaleString("en-US")} ${unit}, p50 ${rec.p50Ms} ms, ` +
            `p99 ${rec.p99Ms} ms, ${rec.cpuMsPer1kOps} CPU ms/1k ops, ${rec.peakRssMb} MB RSS`
          out.push(
            `<rect x="${(gx + i * barW).toFixed(1)}" y="${(y0 + h - bh).toFixed(1)}" width="${(barW - 1).toFixed(1)}" ` +
              `height="${bh.toFixed(1)}" fill="${palette[i % palette.length]}"><title>${escape(tip)}</title></rect>`
          )
        })
      })
      out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y0 + h}" y2="${y0 + h}" stroke="#333"/>`)
    })
  })
  out.push("</svg>")
  return out.join("\n")
}
