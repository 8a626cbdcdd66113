import { SourceRange } from '../kc/diagnostics.js';
import { R_DEV_PENDING, R_IPI_PENDING, R_NEED_RESCHED } from '../machine/layout.js';
import { Machine, shortFile } from '../machine/machine.js';
import { PreparedScenario } from '../scenario/build.js';
import { StepRecord, replaySchedule } from './replay.js';

/** One side of the race that decides a counterexample. */
export interface RaceAccess {
  /** the step (1-based, as event logs count) */
  step: number;
  /** `CPU0`, `IPI to CPU1`, `interrupt disk` */
  actor: string;
  /** what the step did to the contested cell, in words: `writes __cpu_online_mask.bits[0]`, `the disk interrupt fires` */
  action: string;
  at?: SourceRange;
  func?: string;
}

/** Two steps of two actors whose order decides the outcome. */
export interface DecisiveRace {
  first: RaceAccess;
  second: RaceAccess;
  /** what happens with the order reversed */
  reversed: string;
}

/** How many reordered runs explain() tries before it gives up, and how far apart the two steps may be. */
const MAX_TRIES = 400;
const MAX_DISTANCE = 400;

/**
 * Finds the two steps, nearest the failure, whose order decides it: the
 * later one's actor, run up to that step before the earlier step, makes a run
 * that satisfies every expectation. The two steps touch one cell (at least
 * one writes it); taking an interrupt counts as reading the CPU's pending
 * bits, so "the interrupt fires before CPU0 turns its interrupts off" is a
 * race like any other. For each earlier step, latest first, the nearest later
 * step that decides is reported.
 */
export function explainCounterexample(p: PreparedScenario, actors: readonly number[], failingStep: number): DecisiveRace | undefined {
  const record: StepRecord[] = [];
  replaySchedule(p, actors, { record, continueAfter: false });
  const m = p.machine;
  addInterruptLines(m, record);
  const end = Math.min(record.length, failingStep > 0 ? failingStep : record.length);
  let tries = 0;
  for (let i = end - 1; i >= 0 && tries < MAX_TRIES; i--) {
    for (const j of conflictsAfter(record, i, end)) {
      if (++tries > MAX_TRIES) break;
      const flipped = reorder(actors, i, j);
      if (replaySchedule(p, flipped, { tolerant: true }).violation) continue;
      const first = describe(p, actors, record, i, j);
      const second = interruptLine(m, commonCell(record, j, i) >> 1) !== undefined
        ? reached(p, flipped, i + actors.slice(i, j + 1).filter((a) => a === actors[j]).length, j)
        : describe(p, actors, record, j, i);
      return { first, second, reversed: `with ${second.actor} ${gerund(second.action)}${second.at ? ` (${shortFile(second.at.file)}:${second.at.start.line})` : ''} before that, the run satisfies every expectation` };
    }
  }
  return undefined;
}

/** Taking an interrupt (or being preempted) depends on the pending bits: every CPU step reads them. */
function addInterruptLines(m: Machine, record: StepRecord[]): void {
  for (const r of record) {
    if (r.actor >= m.nrCpus) continue;
    const lines = [R_IPI_PENDING, R_DEV_PENDING, R_NEED_RESCHED].map((reg) => m.reg(r.actor, reg) * 2);
    const all = new Int32Array(r.accesses.length + lines.length);
    all.set(r.accesses);
    all.set(lines, r.accesses.length);
    r.accesses = all;
  }
}

/** Later steps of other actors, nearest first, that touch a cell step i touched, one of the two writing it. */
function* conflictsAfter(record: readonly StepRecord[], i: number, end: number): Generator<number> {
  const mine = new Map<number, boolean>();
  for (const x of record[i].accesses) mine.set(x >> 1, (mine.get(x >> 1) ?? false) || (x & 1) === 1);
  for (let j = i + 1; j < Math.min(end, i + MAX_DISTANCE); j++) {
    if (record[j].actor === record[i].actor) continue;
    if (Array.from(record[j].accesses).some((x) => mine.has(x >> 1) && (mine.get(x >> 1) || (x & 1) === 1))) yield j;
  }
}

/** The schedule with actor(j)'s steps from i up to j moved before step i. */
function reorder(actors: readonly number[], i: number, j: number): number[] {
  const q = actors[j];
  const window = actors.slice(i, j + 1);
  return [...actors.slice(0, i), ...window.filter((a) => a === q), ...window.filter((a) => a !== q), ...actors.slice(j + 1)];
}

/** The access of step `step` to a cell step `other` also touched: its write when it wrote the cell. */
function commonCell(record: readonly StepRecord[], step: number, other: number): number {
  const theirs = new Set(Array.from(record[other].accesses, (x) => x >> 1));
  const common = Array.from(record[step].accesses).filter((x) => theirs.has(x >> 1));
  return common.find((x) => (x & 1) === 1) ?? common[0] ?? record[step].accesses[0];
}

/**
 * Where an actor got to in the reordered run when it was moved before an
 * interrupt or IPI: the statement of its last moved step (`length` steps in).
 */
function reached(p: PreparedScenario, flipped: readonly number[], length: number, originalStep: number): RaceAccess {
  const record: StepRecord[] = [];
  replaySchedule(p, flipped.slice(0, length), { record, tolerant: true, continueAfter: false });
  const last = record[record.length - 1];
  const where = record.slice().reverse().find((r) => r.at) ?? last;
  return { step: originalStep + 1, actor: actorWords(p.machine, last.actor), action: where.func ? `runs ${where.func}()` : 'takes an interrupt', at: where.at, func: where.func };
}

function describe(p: PreparedScenario, actors: readonly number[], record: readonly StepRecord[], step: number, other: number): RaceAccess {
  const m = p.machine;
  const r = record[step];
  const base = { step: step + 1, actor: actorWords(m, r.actor), at: r.at, func: r.func };
  const common = commonCell(record, step, other);
  const line = interruptLine(m, common >> 1);
  if (r.actor >= m.nrCpus) {
    const irq = r.actor - 2 * m.nrCpus;
    return { ...base, action: irq >= 0 ? `the ${m.deviceIrqs[irq].name} interrupt fires on CPU${m.irqCpu(irq)}` : `the IPI reaches CPU${r.actor - m.nrCpus}` };
  }
  if (line !== undefined && (common & 1) === 0) return { ...base, action: r.at ? `runs ${r.func}()` : `takes an interrupt` };
  // name the cell as it was then: replay up to that step
  replaySchedule(p, actors.slice(0, step), { continueAfter: false });
  return { ...base, action: `${(common & 1) === 1 ? 'writes' : 'reads'} ${m.nameOf(common >> 1)}` };
}

/** `reads x` as `reading x`, for "with CPU1 reading x before that". */
function gerund(action: string): string {
  return action.replace(/^(run|read|write|take)s\b/, (_, verb: string) => `${verb === 'write' || verb === 'take' ? verb.slice(0, -1) : verb}${verb === 'run' ? 'n' : ''}ing`);
}

/** The CPU whose pending-interrupt or need-resched register `addr` is, if it is one. */
function interruptLine(m: Machine, addr: number): number | undefined {
  for (let c = 0; c < m.nrCpus; c++) {
    if ([R_IPI_PENDING, R_DEV_PENDING, R_NEED_RESCHED].some((reg) => m.reg(c, reg) === addr)) return c;
  }
  return undefined;
}

function actorWords(m: Machine, actor: number): string {
  if (actor < m.nrCpus) return `CPU${actor}`;
  if (actor < 2 * m.nrCpus) return `the IPI to CPU${actor - m.nrCpus}`;
  return `the ${m.deviceIrqs[actor - 2 * m.nrCpus].name} interrupt`;
}

/** `step 424 CPU0 reads __cpu_online_mask.bits[0] (smp.kc:150 in generic_exec_single())` */
export function formatAccess(a: RaceAccess): string {
  const where = a.at ? ` (${shortFile(a.at.file)}:${a.at.start.line}${a.func ? ` in ${a.func}()` : ''})` : '';
  return `step ${a.step} ${a.action.startsWith('the ') ? a.action : `${a.actor} ${a.action}`}${where}`;
}
