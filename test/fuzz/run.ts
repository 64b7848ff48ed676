// `npm run fuzz`: the fuzzing campaign of the sans-I/O core. Each target (test/fuzz/targets/) is a
// fast-check property run in batches of fc.check until its share of the time budget is used; the
// batch size adapts so a batch takes about half a second. Every batch has its own seed derived from
// the campaign seed, so a campaign is replayable with --seed, and a failure prints the exact
// command that replays its shrunk counterexample.
//
//   tsx test/fuzz/run.ts [--seconds 60] [--target head-parser,utf8,...] [--seed S] [--path P]
//
// --seconds  total budget, split across the chosen targets by weight (default 60)
// --target   comma-separated target names (default all)
// --seed     campaign seed (default: random, printed); with --path: the seed of the failing batch
// --path     replay one counterexample (as printed on failure) instead of running a campaign
import fc from 'fast-check';
import { targets } from './targets/index.js';
import type { FuzzTarget } from './targets/target.js';

interface Args {
  seconds: number;
  names: string[] | null;
  seed: number;
  path: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seconds: 60, names: null, seed: (Date.now() ^ (Math.random() * 0x7fffffff)) | 0, path: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    switch (flag) {
      case '--seconds':
        args.seconds = Number(value);
        if (!(args.seconds > 0)) throw new Error(`invalid --seconds ${value}`);
        break;
      case '--target':
        args.names = value.split(',').filter((n) => n !== '');
        break;
      case '--seed':
        args.seed = Number(value) | 0;
        if (!Number.isInteger(Number(value))) throw new Error(`invalid --seed ${value}`);
        break;
      case '--path':
        args.path = value;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return args;
}

/** A 32-bit seed for batch `batch` of target `name` in the campaign `seed` (FNV-1a, then mixed). */
function batchSeed(seed: number, name: string, batch: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ batch, 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
}

interface TargetReport {
  name: string;
  inputs: number;
  seconds: number;
  failures: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProperty = fc.IProperty<any> | fc.IAsyncProperty<any>;

async function checkBatch(property: AnyProperty, params: fc.Parameters<unknown>): Promise<fc.RunDetails<unknown>> {
  return (await fc.check(property as fc.IAsyncProperty<unknown>, params)) as fc.RunDetails<unknown>;
}

function reportFailure(target: FuzzTarget, details: fc.RunDetails<unknown>, seed: number): void {
  console.log(`\n  FAILURE in ${target.name}`);
  console.log(fc.defaultReportMessage(details) ?? '(no report)');
  if (details.errorInstance !== null) console.log(`  error: ${String(details.errorInstance)}`);
  console.log(`  replay: npx tsx test/fuzz/run.ts --target ${target.name} --seed ${seed} --path "${details.counterexamplePath ?? ''}"\n`);
}

async function runTarget(target: FuzzTarget, budgetMs: number, seed: number): Promise<TargetReport> {
  const property: AnyProperty = target.property();
  const started = performance.now();
  let inputs = 0;
  let failures = 0;
  let runs = 20;
  for (let batch = 0; ; batch++) {
    const left = budgetMs - (performance.now() - started);
    if (left <= 0) break;
    const s = batchSeed(seed, target.name, batch);
    const t0 = performance.now();
    const details = await checkBatch(property, { seed: s, numRuns: runs });
    const took = performance.now() - t0;
    inputs += details.numRuns;
    if (details.failed) {
      failures++;
      reportFailure(target, details, s);
      break;
    }
    // Aim at batches of ~0.5 s, never past the end of the budget.
    const rate = details.numRuns / Math.max(took, 1);
    const aim = Math.min(500, budgetMs - (performance.now() - started));
    runs = Math.max(5, Math.min(200_000, Math.floor(rate * aim)));
  }
  return { name: target.name, inputs, seconds: (performance.now() - started) / 1000, failures };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const chosen = args.names === null ? targets : args.names.map((n) => {
    const t = targets.find((x) => x.name === n);
    if (t === undefined) throw new Error(`unknown target ${n}; targets: ${targets.map((x) => x.name).join(', ')}`);
    return t;
  });

  if (args.path !== null) {
    let failed = false;
    for (const target of chosen) {
      const details = await checkBatch(target.property(), { seed: args.seed, path: args.path, endOnFailure: true });
      if (details.failed) {
        failed = true;
        reportFailure(target, details, args.seed);
      } else {
        console.log(`${target.name}: the counterexample at seed ${args.seed} path ${args.path} passes`);
      }
    }
    process.exitCode = failed ? 1 : 0;
    return;
  }

  const totalWeight = chosen.reduce((sum, t) => sum + t.weight, 0);
  console.log(`fuzz: seed ${args.seed}, budget ${args.seconds} s, targets ${chosen.map((t) => t.name).join(', ')} (node ${process.version})`);
  const reports: TargetReport[] = [];
  for (const target of chosen) {
    const report = await runTarget(target, (args.seconds * 1000 * target.weight) / totalWeight, args.seed);
    reports.push(report);
    console.log(
      `  ${report.name.padEnd(16)} ${String(report.inputs).padStart(11)} inputs  ${report.seconds.toFixed(1).padStart(7)} s  ` +
        `${Math.round(report.inputs / report.seconds).toString().padStart(8)} inputs/s  ${report.failures} failures`,
    );
  }
  const inputs = reports.reduce((sum, r) => sum + r.inputs, 0);
  const seconds = reports.reduce((sum, r) => sum + r.seconds, 0);
  const failures = reports.reduce((sum, r) => sum + r.failures, 0);
  console.log(`fuzz: ${inputs} inputs in ${seconds.toFixed(1)} s (${Math.round(inputs / seconds)} inputs/s), ${failures} failures, seed ${args.seed}`);
  process.exitCode = failures > 0 ? 1 : 0;
}

process.on('uncaughtException', (err) => {
  // An exception thrown from a callback of the code under test (e.g. a zlib completion) is a failure too.
  console.error('fuzz: uncaught exception outside a property:', err);
  process.exit(2);
});

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
