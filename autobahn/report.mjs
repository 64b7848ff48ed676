// Reads wstest's reports (index.json + one json per case) and turns them into verdicts, a plain-text
// summary for the terminal and a Markdown one for RESULTS.md.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BEHAVIORS = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'];

/** Autobahn|Testsuite's own names of its case categories. */
const SECTION_NAMES = {
  1: 'Framing',
  2: 'Pings/Pongs',
  3: 'Reserved Bits',
  4: 'Opcodes',
  5: 'Fragmentation',
  6: 'UTF-8 Handling',
  7: 'Close Handling',
  9: 'Limits/Performance',
  10: 'Misc',
  12: 'Compression (payloads)',
  13: 'Compression (parameters)',
};

const SIDE_TITLES = {
  server: 'server side (wstest fuzzingclient against our server)',
  client: 'client side (our client against wstest fuzzingserver)',
};

const fine = (behavior) => behavior === 'OK' || behavior === 'INFORMATIONAL';

function caseKey(id) {
  return id.split('.').map(Number);
}

function compareIds(a, b) {
  const x = caseKey(a);
  const y = caseKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function plainText(html) {
  return String(html ?? '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The verdict of one case: 'pass', 'fail' or 'skip' (UNIMPLEMENTED while allowed).
 * Strict by default: NON-STRICT fails, and so does any close behavior other than OK/INFORMATIONAL.
 */
export function verdict(c, allowUnimplemented) {
  if (c.behavior === 'UNIMPLEMENTED' && (c.behaviorClose === 'UNIMPLEMENTED' || fine(c.behaviorClose))) {
    return allowUnimplemented ? 'skip' : 'fail';
  }
  return fine(c.behavior) && fine(c.behaviorClose) ? 'pass' : 'fail';
}

/**
 * Reads one side's report. `run` = { side, agent, outdir, expected, error, wallSeconds }.
 * Returns the run with `cases` (sorted) and, when the report is unreadable, `error` set.
 */
export function readSide(run) {
  const result = { ...run, cases: [] };
  if (!run.outdir) {
    result.error ??= 'no report directory';
    return result;
  }
  const indexFile = join(run.outdir, 'index.json');
  if (!existsSync(indexFile)) {
    result.error ??= `no report: ${indexFile} was not written`;
    return result;
  }
  let index;
  try {
    index = JSON.parse(readFileSync(indexFile, 'utf8'));
  } catch (error) {
    result.error ??= `unreadable ${indexFile}: ${error.message}`;
    return result;
  }
  const byCase = index[run.agent] ?? {};
  for (const [id, entry] of Object.entries(byCase)) {
    result.cases.push({
      id,
      section: caseKey(id)[0],
      behavior: entry.behavior,
      behaviorClose: entry.behaviorClose,
      remoteCloseCode: entry.remoteCloseCode,
      duration: entry.duration,
      reportfile: entry.reportfile,
      description: null,
    });
  }
  result.cases.sort((a, b) => compareIds(a.id, b.id));
  for (const c of result.cases) {
    if (fine(c.behavior) && fine(c.behaviorClose)) continue;
    try {
      const detail = JSON.parse(readFileSync(join(run.outdir, c.reportfile), 'utf8'));
      c.description = plainText(detail.description);
      c.result = plainText(detail.result);
      c.resultClose = plainText(detail.resultClose);
    } catch {
      c.description = '(case report unreadable)';
    }
  }
  return result;
}

function emptyCounts() {
  return Object.fromEntries(BEHAVIORS.map((b) => [b, 0]));
}

/** Counts, sections, flagged cases and verdict totals of one side. */
export function summarizeSide(side, allowUnimplemented) {
  const counts = emptyCounts();
  const closeCounts = {};
  const sections = new Map();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const c of side.cases) {
    counts[c.behavior] = (counts[c.behavior] ?? 0) + 1;
    closeCounts[c.behaviorClose] = (closeCounts[c.behaviorClose] ?? 0) + 1;
    if (!sections.has(c.section)) sections.set(c.section, emptyCounts());
    const sectionCounts = sections.get(c.section);
    sectionCounts[c.behavior] = (sectionCounts[c.behavior] ?? 0) + 1;
    const v = verdict(c, allowUnimplemented);
    if (v === 'pass') passed++;
    else if (v === 'skip') skipped++;
    else failed++;
  }
  // Cases that wstest announced but never reported (a crash, a timeout, a peer that stopped
  // answering) count as failed; so does a side that produced no report at all.
  const missing = side.expected != null ? Math.max(0, side.expected - side.cases.length) : 0;
  failed += missing;
  if (side.error && failed === 0) failed = 1;
  const flagged = side.cases.filter((c) => !(fine(c.behavior) && fine(c.behaviorClose)));
  return {
    ...side,
    counts,
    closeCounts,
    sections: [...sections.entries()].sort((a, b) => a[0] - b[0]),
    flagged,
    passed,
    failed,
    skipped,
    missing,
  };
}

/**
 * Groups flagged cases for listing: every case on its own line, except runs of UNIMPLEMENTED cases
 * in one section, which make one line (there are 216 compression cases per side).
 */
function listLines(flagged) {
  const lines = [];
  let run = null;
  const flush = () => {
    if (!run) return;
    const [first] = run;
    const last = run[run.length - 1];
    lines.push(
      run.length === 1
        ? { ids: first.id, count: 1, ...first }
        : { ...first, ids: `${first.id} … ${last.id}`, count: run.length },
    );
    run = null;
  };
  for (const c of flagged) {
    const groupable = c.behavior === 'UNIMPLEMENTED';
    if (run && groupable && run[0].section === c.section && run[0].behaviorClose === c.behaviorClose) {
      run.push(c);
      continue;
    }
    flush();
    if (groupable) run = [c];
    else lines.push({ ...c, ids: c.id, count: 1 });
  }
  flush();
  return lines;
}

function formatDuration(seconds) {
  if (seconds == null) return '-';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${seconds.toFixed(1)}s`;
}

function closeSummary(closeCounts) {
  return Object.entries(closeCounts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function truncate(text, max) {
  const s = text ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((cell, i) => String(cell).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** The terminal summary. `sides` are summarizeSide() results. */
export function renderText(sides, meta) {
  const out = [];
  for (const s of sides) {
    out.push('');
    out.push(`== ${SIDE_TITLES[s.side]}: agent ${s.agent}, ${s.cases.length} cases, wall ${formatDuration(s.wallSeconds)}`);
    if (s.error) out.push(`!! ${s.error}`);
    if (s.missing) out.push(`!! ${s.missing} announced cases missing from the report (counted as failed)`);
    if (s.cases.length) {
      const rows = [['section', 'cases', ...BEHAVIORS]];
      for (const [section, counts] of s.sections) {
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        rows.push([`${section} ${SECTION_NAMES[section] ?? ''}`.trim(), total, ...BEHAVIORS.map((b) => counts[b])]);
      }
      rows.push(['total', s.cases.length, ...BEHAVIORS.map((b) => s.counts[b])]);
      out.push(table(rows));
      out.push(`behaviorClose: ${closeSummary(s.closeCounts)}`);
    }
    const lines = listLines(s.flagged);
    if (lines.length) {
      out.push(`not OK (${s.flagged.length}):`);
      for (const l of lines) {
        const count = l.count > 1 ? ` (${l.count} cases)` : '';
        out.push(`  ${l.ids}${count}  ${l.behavior} / close ${l.behaviorClose}  ${truncate(l.description, 110)}`);
      }
    }
  }
  out.push('');
  const allowed = meta.allowUnimplemented ? ' (UNIMPLEMENTED allowed: counted as skipped)' : '';
  out.push(`target ${meta.target}, wstest ${meta.wstest}${allowed}`);
  return out.join('\n');
}

function mdEscape(text) {
  return String(text ?? '').replace(/\|/g, '\\|');
}

/** The Markdown report written to RESULTS.md (or RESULTS-ws-baseline.md). */
export function renderMarkdown(sides, meta) {
  const out = [];
  out.push(`# Autobahn|Testsuite results: ${meta.target}`);
  out.push('');
  out.push(`Written by \`node autobahn/run.mjs\`; do not edit by hand.`);
  out.push('');
  out.push(`- Library: ${meta.library}`);
  out.push(`- Date: ${meta.date}`);
  out.push(`- Node: ${meta.node}`);
  out.push(`- Commit: ${meta.commit}`);
  out.push(`- Machine: ${meta.machine}`);
  out.push(`- Load: ${meta.load}`);
  out.push(`- wstest: ${meta.wstest}`);
  out.push(`- Cases: ${meta.cases}`);
  out.push(`- Strictness: ${meta.allowUnimplemented ? 'UNIMPLEMENTED allowed (`--allow-unimplemented`)' : 'strict'}`);
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push(`| Side | Cases | ${BEHAVIORS.join(' | ')} | behaviorClose | Passed | Failed | Wall time |`);
  out.push(`|---|--:|${BEHAVIORS.map(() => '--:').join('|')}|---|--:|--:|--:|`);
  for (const s of sides) {
    out.push(
      `| ${s.side} | ${s.cases.length} | ${BEHAVIORS.map((b) => s.counts[b]).join(' | ')} | ${closeSummary(s.closeCounts)} | ${s.passed} | ${s.failed} | ${formatDuration(s.wallSeconds)} |`,
    );
  }
  for (const s of sides) {
    if (s.error) out.push('', `**${s.side} side error:** ${mdEscape(s.error)}`);
    if (s.missing) out.push('', `**${s.side} side:** ${s.missing} announced cases missing from the report.`);
  }
  out.push('');
  out.push('## Per section');
  for (const s of sides) {
    out.push('');
    out.push(`### ${SIDE_TITLES[s.side]}`);
    out.push('');
    out.push(`| Section | Cases | ${BEHAVIORS.join(' | ')} |`);
    out.push(`|---|--:|${BEHAVIORS.map(() => '--:').join('|')}|`);
    for (const [section, counts] of s.sections) {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      out.push(`| ${section} ${SECTION_NAMES[section] ?? ''} | ${total} | ${BEHAVIORS.map((b) => counts[b]).join(' | ')} |`);
    }
  }
  out.push('');
  out.push('## Cases not OK');
  out.push('');
  const any = sides.some((s) => s.flagged.length);
  if (!any) {
    out.push('None: every case is OK or INFORMATIONAL, on both behavior and behaviorClose.');
  } else {
    out.push('| Side | Case | Behavior | behaviorClose | Description |');
    out.push('|---|---|---|---|---|');
    for (const s of sides) {
      for (const l of listLines(s.flagged)) {
        const count = l.count > 1 ? ` (${l.count} cases)` : '';
        out.push(
          `| ${s.side} | ${l.ids}${count} | ${l.behavior} | ${l.behaviorClose} | ${mdEscape(truncate(l.description, 300))} |`,
        );
      }
    }
  }
  out.push('');
  return out.join('\n');
}
