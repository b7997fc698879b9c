/** Runs the checks over a snapshot and formats the report. Pure. */
import { CHECKS } from './checks/index.ts';
import { results as findings } from './view.ts';
import type { Check, CheckLevel, CheckReport, CheckResult, CheckSnapshot } from './types.ts';

export function runChecks(s: CheckSnapshot, checks: readonly Check[] = CHECKS): CheckReport {
  const results: CheckResult[] = [];
  for (const c of checks) results.push(...runOne(c, s));
  return report(results);
}

/**
 * runChecks, awaiting `pause()` between checks: a long-running process (the controller) lets other work in between
 * (a reconcile waiting for the event loop) instead of holding it for the whole run. The same report.
 */
export async function runChecksPausing(s: CheckSnapshot, pause: () => Promise<void>, checks: readonly Check[] = CHECKS): Promise<CheckReport> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    await pause();
    results.push(...runOne(c, s));
  }
  return report(results);
}

function runOne(c: Check, s: CheckSnapshot): CheckResult[] {
  try {
    return c.run(s);
  } catch (e) {
    // A bug in one check must not hide the others' findings.
    const r = findings(c.name);
    r.finding('fail', 'SPC199', { check: c.name, error: (e as Error).message ?? String(e) });
    return r.out;
  }
}

function report(results: CheckResult[]): CheckReport {
  const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.level]++;
  return { results, summary };
}

/** 0 when nothing failed (warnings and skips included), 1 otherwise. */
export function exitCode(report: CheckReport): number {
  return report.summary.fail > 0 ? 1 : 0;
}

const MARK: Record<CheckLevel, string> = { pass: '[ok]  ', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' };

/** One block per check, one line per result, hints indented under warnings and failures; a summary line last. */
export function formatReport(report: CheckReport, checks: readonly Check[] = CHECKS): string {
  const lines: string[] = [];
  const titles = new Map(checks.map((c) => [c.name, c.title]));
  let current = '';
  for (const r of report.results) {
    if (r.check !== current) {
      current = r.check;
      lines.push(`${lines.length > 0 ? '\n' : ''}${r.check}: ${titles.get(r.check) ?? ''}`.trimEnd());
    }
    lines.push(`  ${MARK[r.level]} ${r.code}${r.cluster ? ` ${r.cluster}` : ''}: ${r.message}`);
    if (r.hint && (r.level === 'warn' || r.level === 'fail')) lines.push(`         hint: ${r.hint}`);
  }
  const s = report.summary;
  lines.push('', `${s.fail > 0 ? 'FAILED' : 'OK'}: ${s.pass} passed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.fail} failed, ${s.skip} skipped`);
  return `${lines.join('\n')}\n`;
}
