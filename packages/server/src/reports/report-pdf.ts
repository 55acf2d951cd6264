import type {
  ReportChart,
  ReportDocument,
  ReportKind,
  ReportSnapshot,
  ReportStatement,
  ReportTable,
} from '@tonypi/contracts';
import PDFDocument from 'pdfkit';
import { duration, when } from './report-format';

/**
 * A ReportDocument as an A4 PDF, drawn with pdfkit: real text in the standard Helvetica fonts (searchable and
 * copyable, nothing embedded), charts as vector paths, tables with their header repeated on every page. Chosen
 * over Chromium's print-to-PDF: no browser process per report, a few hundred KB for a 100-robot fleet, and a
 * render well under a second (see report-pdf.test.ts).
 */

type Doc = PDFKit.PDFDocument;

const A4 = { width: 595.28, height: 841.89 };
const MARGIN = { top: 50, left: 50, right: 50, bottom: 60 };
const CONTENT_W = A4.width - MARGIN.left - MARGIN.right;
const BOTTOM = A4.height - MARGIN.bottom;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const OBLIQUE = 'Helvetica-Oblique';
const INK = '#111827';
const MUTED = '#6b7280';
const RULE = '#d1d5db';
const SEVERITY_COLOR: Record<ReportStatement['severity'], string> = {
  critical: '#b91c1c',
  warning: '#b45309',
  info: '#9ca3af',
};
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
/** Rows of one table printed at most; the CSV and JSON exports have them all. */
const TABLE_ROWS_PRINTED = 300;
const KIND_LABELS: Record<ReportKind, string> = {
  fleet_summary: 'Fleet summary',
  performance: 'Robot performance',
  battery: 'Battery health',
  servo_maintenance: 'Servo maintenance',
  jobs: 'Jobs and productivity',
  alerts: 'Alerts and incidents',
  custom: 'Custom report',
};

// ---------------------------------------------------------------------------------------------------------------
// Text the standard fonts can print

/** The characters of Windows-1252 above 0x7F that are not Latin-1 (WinAnsiEncoding, which Helvetica uses). */
const WIN_ANSI_EXTRA = new Set([
  0x20ac, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x017d,
  0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x017e,
  0x0178,
]);
const REPLACEMENTS: Record<string, string> = {
  '→': '->',
  '←': '<-',
  '↔': '<->',
  '⇒': '=>',
  '↑': 'up',
  '↓': 'down',
  '≤': '<=',
  '≥': '>=',
  '≠': '!=',
  '≈': '~',
  '−': '-',
  '∞': 'inf',
  '√': 'sqrt',
  '∑': 'sum',
  Δ: 'delta ',
  σ: 'sigma',
  μ: 'µ',
  '‐': '-',
  '‑': '-',
  '\u2009': ' ',
  '\u200a': ' ',
  '\u202f': ' ',
  '\u2007': ' ',
  '\u200b': '',
  // Letters that Unicode does not decompose into a base letter and an accent.
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ħ: 'H',
  ħ: 'h',
  ı: 'i',
  '✓': 'ok',
  '✔': 'ok',
  '✗': 'x',
  '✘': 'x',
  '⚠': '!',
};

function printable(cp: number): boolean {
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) || WIN_ANSI_EXTRA.has(cp) || cp === 0x0a;
}

/**
 * Text as the standard fonts can print it: WinAnsi characters stay, a few symbols get their ASCII spelling ("→"
 * → "->", "≤" → "<="), accented letters outside WinAnsi lose their accent, anything else becomes "?" — never a
 * garbled glyph.
 */
export function pdfSafe(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (printable(cp)) {
      out += ch;
      continue;
    }
    const rep = REPLACEMENTS[ch];
    if (rep !== undefined) {
      out += rep;
      continue;
    }
    if (ch === '\t' || ch === '\r') {
      out += ' ';
      continue;
    }
    const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
    out += base && [...base].every((c) => printable(c.codePointAt(0)!)) ? base : '?';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

class Writer {
  readonly doc: Doc;

  constructor(readonly report: ReportDocument) {
    this.doc = new PDFDocument({
      size: 'A4',
      margins: MARGIN,
      bufferPages: true,
      compress: true,
      info: {
        Title: pdfSafe(report.title),
        Author: 'TonyPi Fleet Monitor',
        Creator: 'TonyPi Fleet Monitor',
        Subject: pdfSafe(`${KIND_LABELS[report.kind]}, ${report.from} to ${report.to}`),
        CreationDate: new Date(report.generated_at),
      },
    });
  }

  get y(): number {
    return this.doc.y;
  }

  /** A new page unless `height` more points fit on this one. */
  ensure(height: number): void {
    if (this.doc.y + height > BOTTOM) this.doc.addPage();
  }

  text(
    s: string,
    opts: PDFKit.Mixins.TextOptions & { font?: string; size?: number; color?: string } = {},
  ): void {
    const { font = FONT, size = 10, color = INK, ...rest } = opts;
    this.doc.font(font).fontSize(size).fillColor(color);
    this.doc.text(pdfSafe(s), MARGIN.left, this.doc.y, { width: CONTENT_W, ...rest });
  }

  heading(s: string, size = 16): void {
    this.ensure(size * 2 + 60);
    this.doc.moveDown(0.6);
    this.text(s, { font: BOLD, size });
    const y = this.doc.y + 2;
    this.doc
      .moveTo(MARGIN.left, y)
      .lineTo(MARGIN.left + CONTENT_W, y)
      .lineWidth(0.7)
      .strokeColor(RULE)
      .stroke();
    this.doc.y = y + 8;
  }

  subheading(s: string): void {
    this.ensure(40);
    this.doc.moveDown(0.4);
    this.text(s, { font: BOLD, size: 11 });
    this.doc.moveDown(0.2);
  }

  statement(st: ReportStatement): void {
    const doc = this.doc;
    const prefix = st.severity === 'critical' ? 'Critical: ' : st.severity === 'warning' ? 'Warning: ' : '';
    const body = pdfSafe(st.text);
    const x = MARGIN.left + 10;
    const width = CONTENT_W - 10;
    doc.font(FONT).fontSize(10);
    const h = doc.heightOfString(prefix + body, { width });
    this.ensure(h + 4);
    const top = doc.y;
    doc
      .rect(MARGIN.left, top + 1, 3, h - 2)
      .fillColor(SEVERITY_COLOR[st.severity])
      .fill();
    if (prefix)
      doc.font(BOLD).fillColor(SEVERITY_COLOR[st.severity]).text(prefix, x, top, { width, continued: true });
    doc
      .font(FONT)
      .fillColor(INK)
      .text(body, prefix ? undefined : x, prefix ? undefined : top, { width });
    doc.y = Math.max(doc.y, top + h) + 4;
  }

  // ------------------------------------------------------------------------------------------------------------

  cover(): void {
    const r = this.report;
    const doc = this.doc;
    this.text('TonyPi Fleet Monitor', { font: BOLD, size: 10, color: MUTED });
    doc.moveDown(0.3);
    this.text(r.title, { font: BOLD, size: 24 });
    this.text(KIND_LABELS[r.kind], { size: 13, color: MUTED });
    doc.moveDown(0.8);
    const n = r.scope.robots.length;
    const scope = r.scope.robot_id
      ? `Robot ${r.scope.robot_id}`
      : r.scope.tag
        ? `Robots tagged "${r.scope.tag}" (${n})`
        : `Fleet (${n} ${n === 1 ? 'robot' : 'robots'})`;
    const from = Date.parse(r.from);
    const to = Date.parse(r.to);
    const listed = r.scope.robots.slice(0, 40).join(', ');
    const more = n > 40 ? ` and ${n - 40} more` : '';
    const rows: Array<[string, string]> = [
      ['Scope', scope],
      ...(r.scope.robot_id
        ? []
        : ([['Robots', n === 0 ? 'none' : listed + more]] as Array<[string, string]>)),
      ['Period', `${when(from)} to ${when(to)} (${duration(to - from)})`],
      ['Generated', when(Date.parse(r.generated_at))],
    ];
    for (const [k, v] of rows) {
      const top = doc.y;
      doc.font(BOLD).fontSize(10).fillColor(MUTED).text(k, MARGIN.left, top, { width: 80 });
      doc
        .font(FONT)
        .fillColor(INK)
        .text(pdfSafe(v), MARGIN.left + 85, top, { width: CONTENT_W - 85 });
      doc.moveDown(0.25);
    }
  }

  summary(): void {
    this.heading('Summary');
    if (this.report.summary.length === 0) this.text('Nothing to report in this period.', { color: MUTED });
    for (const st of this.report.summary) this.statement(st);
  }

  ai(): void {
    const r = this.report;
    if (!r.ai && !r.ai_note) return;
    this.heading(r.ai ? 'AI insights (AI-generated)' : 'AI insights');
    if (r.ai) {
      const doc = this.doc;
      const note = `AI-generated: written by ${r.ai.model} (${r.ai.provider}) from the figures in this report, not from the raw data. Check it against the figures before acting on it.`;
      doc.font(OBLIQUE).fontSize(9);
      const h = doc.heightOfString(pdfSafe(note), { width: CONTENT_W - 16 }) + 10;
      this.ensure(h + 6);
      const top = doc.y;
      doc.rect(MARGIN.left, top, CONTENT_W, h).fillColor('#eef2ff').fill();
      doc.rect(MARGIN.left, top, 3, h).fillColor('#4f46e5').fill();
      doc
        .font(OBLIQUE)
        .fontSize(9)
        .fillColor('#3730a3')
        .text(pdfSafe(note), MARGIN.left + 10, top + 5, { width: CONTENT_W - 16 });
      doc.y = top + h + 8;
      this.subheading('Analysis (AI-generated)');
      this.text(r.ai.analysis);
      if (r.ai.concerns.length > 0) {
        this.subheading('Concerns (AI-generated)');
        for (const c of r.ai.concerns) this.bullet(c);
      }
      if (r.ai.recommendations.length > 0) {
        this.subheading('Recommendations (AI-generated)');
        for (const rec of r.ai.recommendations) this.bullet(`[${rec.urgency} urgency] ${rec.text}`);
      }
    }
    if (r.ai_note) {
      this.doc.moveDown(0.4);
      this.text(r.ai_note, { font: OBLIQUE, color: MUTED });
    }
  }

  bullet(s: string): void {
    const doc = this.doc;
    doc.font(FONT).fontSize(10);
    const h = doc.heightOfString(pdfSafe(s), { width: CONTENT_W - 14 });
    this.ensure(h + 3);
    const top = doc.y;
    doc.fillColor(INK).text('•', MARGIN.left + 2, top, { lineBreak: false });
    doc.text(pdfSafe(s), MARGIN.left + 14, top, { width: CONTENT_W - 14 });
    doc.y = Math.max(doc.y, top + h) + 3;
  }

  sections(): void {
    for (const sec of this.report.sections) {
      this.heading(sec.title);
      if (sec.statements.length === 0) this.text('Nothing to report in this section.', { color: MUTED });
      for (const st of sec.statements) this.statement(st);
      for (const chart of sec.charts) {
        if (chart.type === 'line') lineChart(this, chart);
        else barChart(this, chart);
      }
      for (const t of sec.tables) table(this, t);
    }
  }

  /** The camera snapshots of the report's robots and period, two to a row, each with what it documents. */
  snapshots(images: ReadonlyMap<number, Buffer>): void {
    const snaps = this.report.snapshots ?? [];
    if (snaps.length === 0) return;
    const doc = this.doc;
    this.heading('Camera snapshots');
    this.text(
      `${snaps.length} ${snaps.length === 1 ? 'snapshot' : 'snapshots'} stored for these robots in this period` +
        ' (those kept for an alert or with a note first).',
      { color: MUTED, size: 9 },
    );
    doc.moveDown(0.4);
    const gap = 12;
    const w = (CONTENT_W - gap) / 2;
    const h = w * 0.75;
    for (let i = 0; i < snaps.length; i += 2) {
      const row = snaps.slice(i, i + 2);
      const captions = row.map((s) => snapshotCaption(s));
      doc.font(FONT).fontSize(8);
      const capH = Math.max(...captions.map((c) => doc.heightOfString(pdfSafe(c), { width: w })));
      this.ensure(h + capH + 16);
      const top = doc.y;
      row.forEach((snap, j) => {
        const x = MARGIN.left + j * (w + gap);
        const jpeg = images.get(snap.id);
        let drawn = false;
        if (jpeg) {
          try {
            doc.image(jpeg, x, top, { fit: [w, h], align: 'center', valign: 'center' });
            drawn = true;
          } catch {
            // A stored image pdfkit cannot read: said in its place, the report still renders.
          }
        }
        if (!drawn) {
          doc.rect(x, top, w, h).lineWidth(0.5).strokeColor(RULE).stroke();
          doc
            .font(OBLIQUE)
            .fontSize(9)
            .fillColor(MUTED)
            .text(jpeg ? 'Image unreadable' : 'Image deleted since', x, top + h / 2 - 5, {
              width: w,
              align: 'center',
            });
        }
        doc
          .font(FONT)
          .fontSize(8)
          .fillColor(INK)
          .text(pdfSafe(captions[j]!), x, top + h + 3, { width: w });
      });
      doc.y = top + h + capH + 12;
    }
  }

  /** "Generated by … at …" and "page N of M" on every page, once every page exists. */
  footers(): void {
    const doc = this.doc;
    const range = doc.bufferedPageRange();
    const generated = `Generated by TonyPi Fleet Monitor at ${when(Date.parse(this.report.generated_at))}`;
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      // Writing below the bottom margin would make pdfkit start a new page.
      doc.page.margins.bottom = 0;
      const y = A4.height - 38;
      doc
        .moveTo(MARGIN.left, y - 6)
        .lineTo(MARGIN.left + CONTENT_W, y - 6)
        .lineWidth(0.5)
        .strokeColor(RULE)
        .stroke();
      doc.font(FONT).fontSize(8).fillColor(MUTED);
      doc.text(pdfSafe(generated), MARGIN.left, y, { lineBreak: false });
      const page = `page ${i - range.start + 1} of ${range.count}`;
      doc.text(page, MARGIN.left + CONTENT_W - doc.widthOfString(page), y, { lineBreak: false });
      doc.page.margins.bottom = MARGIN.bottom;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tables

// toLocaleString with options builds a formatter per call: a 100-robot report formats tens of thousands of cells.
const FORMAT_0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const FORMAT_1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const FORMAT_2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const TICK_FORMATS = [0, 1, 2, 3, 4].map(
  (d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }),
);

function cellText(v: string | number | null): string {
  if (v === null) return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '-';
    return (Number.isInteger(v) ? FORMAT_0 : Math.abs(v) >= 100 ? FORMAT_1 : FORMAT_2).format(v);
  }
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?Z$/.exec(v);
  if (m) return `${m[1]} ${m[2]}`;
  return pdfSafe(v);
}

/** The longest prefix of `s` (with an ellipsis) that fits `width` at the current font. */
function fit(doc: Doc, s: string, width: number): string {
  // A little slack: a width measured from this very string must not cut it through rounding.
  if (doc.widthOfString(s) <= width + 0.01) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (doc.widthOfString(`${s.slice(0, mid)}…`) <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${s.slice(0, lo)}…`;
}

function table(w: Writer, t: ReportTable): void {
  const doc = w.doc;
  const cols = t.columns;
  if (cols.length === 0) return;
  const size = cols.length <= 6 ? 8.5 : cols.length <= 9 ? 7.5 : 6.5;
  const pad = 3;
  const rows = t.rows.slice(0, TABLE_ROWS_PRINTED);
  const cells = rows.map((r) => cols.map((c) => cellText(r[c.key] ?? null)));
  const numeric = cols.map(
    (c) => rows.length > 0 && rows.every((r) => r[c.key] === null || typeof r[c.key] === 'number'),
  );
  const headers = cols.map((c) => pdfSafe(c.unit ? `${c.label} (${c.unit})` : c.label));

  doc.font(FONT).fontSize(size);
  const sample = cells.slice(0, 100);
  const natural = cols.map((_, i) => {
    let m = 0;
    for (const row of sample) m = Math.max(m, doc.widthOfString(row[i]!));
    return m;
  });
  doc.font(BOLD);
  const headerWord = headers.map((h) => Math.max(...h.split(' ').map((x) => doc.widthOfString(x))));
  const want = natural.map((n, i) => Math.max(n, headerWord[i]!) + 2 * pad);
  const total = want.reduce((s, x) => s + x, 0);
  const widths = want.map((x) => (x * CONTENT_W) / total);
  const headerH =
    Math.max(...headers.map((h, i) => doc.heightOfString(h, { width: widths[i]! - 2 * pad }))) + 2 * pad;
  const rowH = size + 2 * pad + 1;

  const drawHeader = (continued: boolean) => {
    if (continued) {
      doc.font(OBLIQUE).fontSize(8).fillColor(MUTED);
      doc.text(pdfSafe(`${t.title} (continued)`), MARGIN.left, doc.y, { width: CONTENT_W });
      doc.moveDown(0.2);
    }
    const top = doc.y;
    doc.rect(MARGIN.left, top, CONTENT_W, headerH).fillColor('#e5e7eb').fill();
    doc.font(BOLD).fontSize(size).fillColor(INK);
    let x = MARGIN.left;
    headers.forEach((h, i) => {
      doc.text(h, x + pad, top + pad, { width: widths[i]! - 2 * pad, align: numeric[i] ? 'right' : 'left' });
      x += widths[i]!;
    });
    doc.y = top + headerH;
  };

  w.ensure(30 + headerH + rowH * Math.min(rows.length, 3));
  doc.moveDown(0.5);
  w.text(t.title, { font: BOLD, size: 10 });
  doc.moveDown(0.2);
  drawHeader(false);
  if (rows.length === 0) {
    doc.font(OBLIQUE).fontSize(size).fillColor(MUTED);
    doc.text('No rows.', MARGIN.left + pad, doc.y + pad, { width: CONTENT_W });
  }
  doc.font(FONT).fontSize(size);
  cells.forEach((row, r) => {
    if (doc.y + rowH > BOTTOM) {
      doc.addPage();
      drawHeader(true);
      doc.font(FONT).fontSize(size);
    }
    const top = doc.y;
    if (r % 2 === 1) doc.rect(MARGIN.left, top, CONTENT_W, rowH).fillColor('#f9fafb').fill();
    doc.fillColor(INK);
    let x = MARGIN.left;
    row.forEach((c, i) => {
      const cw = widths[i]! - 2 * pad;
      const s = fit(doc, c, cw);
      const sx = numeric[i] ? x + pad + cw - doc.widthOfString(s) : x + pad;
      doc.text(s, sx, top + pad, { lineBreak: false });
      x += widths[i]!;
    });
    doc.y = top + rowH;
  });
  doc
    .moveTo(MARGIN.left, doc.y)
    .lineTo(MARGIN.left + CONTENT_W, doc.y)
    .lineWidth(0.5)
    .strokeColor(RULE)
    .stroke();
  if (t.rows.length > rows.length) {
    doc.moveDown(0.3);
    w.text(`Showing ${rows.length} of ${t.rows.length} rows; the CSV and JSON exports have them all.`, {
      font: OBLIQUE,
      size: 8,
      color: MUTED,
    });
  }
  doc.moveDown(0.5);
}

// ---------------------------------------------------------------------------------------------------------------
// Charts

/** Round tick steps (1, 2, 5 × 10^k) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / target;
  const mag = integer ? Math.max(10 ** Math.floor(Math.log10(raw)), 1) : 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => (max - min) / s <= target + 2) ?? 10 * mag;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= max + step * 1e-6; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((start + ticks.length * step).toPrecision(12)));
  return ticks;
}

const TIME_STEPS = [
  60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
  172_800_000, 604_800_000, 2_592_000_000,
];

function timeTicks(from: number, to: number): { ticks: number[]; label: (t: number) => string } {
  const span = Math.max(to - from, 60_000);
  const step = TIME_STEPS.find((s) => span / s <= 7) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  const label = (t: number) => {
    const s = new Date(t).toISOString();
    if (step >= 86_400_000) return s.slice(5, 10);
    if (span <= 86_400_000) return s.slice(11, 16);
    return `${s.slice(5, 10)} ${s.slice(11, 16)}`;
  };
  return { ticks, label };
}

function tickLabel(v: number, step: number): string {
  // As many decimals as the step needs: 2.5 → 1, 0.25 → 2, 20 → 0.
  let digits = 0;
  while (digits < 4 && Math.abs(Math.round(step * 10 ** digits) - step * 10 ** digits) > 1e-6) digits++;
  return TICK_FORMATS[digits]!.format(v);
}

function legend(w: Writer, names: string[], x0: number): void {
  const doc = w.doc;
  doc.font(FONT).fontSize(7.5);
  let x = x0;
  let y = doc.y + 4;
  names.forEach((n, i) => {
    const label = pdfSafe(n);
    const width = 14 + doc.widthOfString(label) + 12;
    if (x + width > MARGIN.left + CONTENT_W) {
      x = x0;
      y += 11;
    }
    doc
      .rect(x, y + 2, 10, 3)
      .fillColor(PALETTE[i % PALETTE.length]!)
      .fill();
    doc.fillColor(INK).text(label, x + 14, y, { lineBreak: false });
    x += width;
  });
  doc.y = y + 14;
}

function lineChart(w: Writer, chart: ReportChart): void {
  const doc = w.doc;
  const series = chart.series.filter((s) => s.points.some(([, v]) => v !== null));
  const plotH = 150;
  const left = 48;
  const legendRows = Math.ceil(series.length / 4);
  w.ensure(plotH + 70 + legendRows * 11);
  doc.moveDown(0.5);
  w.text(chart.title, { font: BOLD, size: 10 });
  if (series.length === 0) {
    w.text('No data to chart.', { size: 9, color: MUTED });
    return;
  }
  let tMin = Number.POSITIVE_INFINITY;
  let tMax = Number.NEGATIVE_INFINITY;
  let vMin = Number.POSITIVE_INFINITY;
  let vMax = Number.NEGATIVE_INFINITY;
  for (const s of series)
    for (const [t, v] of s.points) {
      if (typeof t !== 'number' || v === null) continue;
      tMin = Math.min(tMin, t);
      tMax = Math.max(tMax, t);
      vMin = Math.min(vMin, v);
      vMax = Math.max(vMax, v);
    }
  if (tMax <= tMin) tMax = tMin + 60_000;
  const yt = niceTicks(vMin, vMax);
  const y0 = yt[0]!;
  const y1 = yt[yt.length - 1]!;
  const top = doc.y + 14;
  const px = MARGIN.left + left;
  const pw = CONTENT_W - left - 6;
  const X = (t: number) => px + ((t - tMin) / (tMax - tMin)) * pw;
  const Y = (v: number) => top + plotH - ((v - y0) / (y1 - y0 || 1)) * plotH;

  // Unit over the y axis, grid and tick labels.
  doc.font(FONT).fontSize(7.5).fillColor(MUTED);
  doc.text(pdfSafe(chart.unit ?? 'value'), MARGIN.left, top - 12, { lineBreak: false });
  const step = yt.length > 1 ? yt[1]! - yt[0]! : 1;
  for (const v of yt) {
    const y = Y(v);
    doc
      .moveTo(px, y)
      .lineTo(px + pw, y)
      .lineWidth(0.3)
      .strokeColor('#e5e7eb')
      .stroke();
    const label = tickLabel(v, step);
    doc.fillColor(MUTED).text(label, px - 4 - doc.widthOfString(label), y - 3, { lineBreak: false });
  }
  const { ticks, label } = timeTicks(tMin, tMax);
  for (const t of ticks) {
    const x = X(t);
    doc
      .moveTo(x, top + plotH)
      .lineTo(x, top + plotH + 3)
      .lineWidth(0.5)
      .strokeColor(MUTED)
      .stroke();
    const l = label(t);
    doc.fillColor(MUTED).text(l, x - doc.widthOfString(l) / 2, top + plotH + 5, { lineBreak: false });
  }
  doc
    .moveTo(px, top)
    .lineTo(px, top + plotH)
    .lineTo(px + pw, top + plotH)
    .lineWidth(0.7)
    .strokeColor(MUTED)
    .stroke();
  const axis = 'Time (UTC)';
  doc.text(axis, px + pw / 2 - doc.widthOfString(axis) / 2, top + plotH + 15, { lineBreak: false });

  // The first series (a robot, or the fleet mean) is drawn last, on top of the others.
  for (let i = series.length - 1; i >= 0; i--) {
    const s = series[i]!;
    let pen = false;
    let drawn = 0;
    for (const [t, v] of s.points) {
      if (typeof t !== 'number' || v === null) {
        pen = false;
        continue;
      }
      if (pen) doc.lineTo(X(t), Y(v));
      else doc.moveTo(X(t), Y(v));
      pen = true;
      drawn++;
    }
    if (drawn > 0)
      doc
        .lineWidth(i === 0 ? 1.2 : 0.9)
        .strokeColor(PALETTE[i % PALETTE.length]!)
        .stroke();
  }
  doc.y = top + plotH + 26;
  legend(
    w,
    series.map((s) => s.name),
    px,
  );
}

function barChart(w: Writer, chart: ReportChart): void {
  const doc = w.doc;
  const series = chart.series[0];
  const bars = (series?.points ?? []).map(([l, v]) => [String(l), v] as const);
  const barH = 9;
  const gap = 3;
  w.ensure(Math.min(bars.length, 20) * (barH + gap) + 60);
  doc.moveDown(0.5);
  w.text(chart.title, { font: BOLD, size: 10 });
  if (bars.length === 0) {
    w.text('No data to chart.', { size: 9, color: MUTED });
    return;
  }
  doc.font(FONT).fontSize(7.5);
  const labelW = Math.min(
    Math.max(...bars.map(([l]) => doc.widthOfString(pdfSafe(l)))) + 6,
    CONTENT_W * 0.35,
  );
  const values = bars.map(([, v]) => v ?? 0);
  // Counts (alerts, jobs, items) get whole-number ticks.
  const xt = niceTicks(Math.min(0, ...values), Math.max(0, ...values), 5, values.every(Number.isInteger));
  const x0v = xt[0]!;
  const x1v = xt[xt.length - 1]!;
  const px = MARGIN.left + labelW;
  const pw = CONTENT_W - labelW - 30;
  const X = (v: number) => px + ((v - x0v) / (x1v - x0v || 1)) * pw;
  let top = doc.y + 6;
  for (const [l, v] of bars) {
    if (top + barH > BOTTOM - 24) {
      doc.addPage();
      top = doc.y;
    }
    doc.font(FONT).fontSize(7.5).fillColor(INK);
    doc.text(fit(doc, pdfSafe(l), labelW - 6), MARGIN.left, top + 1, { lineBreak: false });
    if (v !== null) {
      const a = X(Math.min(0, v));
      const b = X(Math.max(0, v));
      doc
        .rect(a, top, Math.max(b - a, 0.5), barH)
        .fillColor(PALETTE[0]!)
        .fill();
      const txt = cellText(v);
      doc.fillColor(MUTED).text(txt, b + 3, top + 1, { lineBreak: false });
    } else doc.fillColor(MUTED).text('no data', px + 3, top + 1, { lineBreak: false });
    top += barH + gap;
  }
  // The value axis under the bars (on the last page they reach).
  const first = top + 2;
  doc
    .moveTo(px, first)
    .lineTo(px + pw, first)
    .lineWidth(0.7)
    .strokeColor(MUTED)
    .stroke();
  const step = xt.length > 1 ? xt[1]! - xt[0]! : 1;
  doc.font(FONT).fontSize(7.5).fillColor(MUTED);
  for (const v of xt) {
    const x = X(v);
    doc
      .moveTo(x, first)
      .lineTo(x, first + 3)
      .stroke();
    const l = tickLabel(v, step);
    doc.text(l, x - doc.widthOfString(l) / 2, first + 5, { lineBreak: false });
  }
  const unit = pdfSafe(chart.unit ?? series?.name ?? '');
  doc.text(unit, px + pw / 2 - doc.widthOfString(unit) / 2, first + 15, { lineBreak: false });
  doc.y = first + 28;
}

// ---------------------------------------------------------------------------------------------------------------

function snapshotCaption(s: ReportSnapshot): string {
  const parts = [s.robot_id, when(Date.parse(s.taken_at))];
  if (s.taken_by) parts.push(`by ${s.taken_by}`);
  if (s.alert_id !== null) parts.push(`alert #${s.alert_id}`);
  return parts.join(' · ') + (s.note ? `\n${s.note}` : '');
}

/** The report as an A4 PDF, with the JPEGs of its camera snapshots that still exist (by snapshot id). */
export function renderReportPdf(
  report: ReportDocument,
  images: ReadonlyMap<number, Buffer> = new Map(),
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    try {
      const w = new Writer(report);
      const chunks: Buffer[] = [];
      w.doc.on('data', (c: Buffer) => chunks.push(c));
      w.doc.on('end', () => resolve(Buffer.concat(chunks)));
      w.doc.on('error', reject);
      w.cover();
      w.summary();
      w.ai();
      w.sections();
      w.snapshots(images);
      w.footers();
      w.doc.end();
    } catch (err) {
      reject(err);
    }
  });
}
