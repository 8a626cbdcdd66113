import { Diagnostic } from '../kc/diagnostics.js';
import { MachineEvent } from '../machine/events.js';
import { TASK_DEAD, T_STATE } from '../machine/layout.js';
import { Machine, StopReason } from '../machine/machine.js';
import { PreparedScenario, eventCondition } from './build.js';
import { Expectation } from './scenario.js';

export interface Verdict {
  text: string;
  ok: boolean;
  detail: string;
}

/** Watches the event stream of one run and judges the scenario's expectations at its end. */
export class ExpectationTracker {
  private warnings: MachineEvent[] = [];
  private lost: MachineEvent[] = [];
  private completed = new Set<number>();
  private readonly counters: { e: Extract<Expectation, { kind: 'count' }>; match?: (ev: MachineEvent) => boolean; n: number }[] = [];

  constructor(private readonly p: PreparedScenario, diagnostics: Diagnostic[] = []) {
    for (const e of p.scenario.expectations) {
      if (e.kind !== 'count') continue;
      const match = e.where ? eventCondition(p.machine, p.scenario.file, e.where, diagnostics, e.event) : undefined;
      this.counters.push({ e, match, n: 0 });
    }
  }

  readonly listener = (ev: MachineEvent): void => {
    switch (ev.kind) {
      case 'warn':
      case 'bug':
        this.warnings.push(ev);
        break;
      case 'lost-work':
        this.lost.push(ev);
        break;
      case 'request-complete':
        this.completed.add(ev.fields.rq as number);
        break;
    }
    for (const c of this.counters) {
      if (c.e.event === ev.kind && (!c.match || c.match(ev))) c.n++;
    }
  };

  verdicts(m: Machine, stop: StopReason): Verdict[] {
    const out: Verdict[] = [];
    if (stop.kind !== 'done') {
      out.push({ text: 'the run ends by itself', ok: false, detail: `${stop.kind}: ${(stop as { message?: string }).message ?? ''}` });
    }
    for (const e of this.p.scenario.expectations) out.push(this.judge(e, m));
    return out;
  }

  private judge(e: Expectation, m: Machine): Verdict {
    const v = (ok: boolean, detail: string): Verdict => ({ text: e.text, ok, detail });
    switch (e.kind) {
      case 'no-warning': {
        const w = this.warnings[0];
        return v(!w, w ? `${this.warnings.length} warning${this.warnings.length > 1 ? 's' : ''}; first at step ${w.step} on CPU${w.cpu}: ${w.fields.message || `WARNING in ${w.fields.function}()`}` : 'no WARN fired');
      }
      case 'no-lost-work': {
        const l = this.lost[0];
        return v(!l, l ? `${m.symbol(l.fields.func as number)} was still queued on CPU${l.fields.target} when it died (step ${l.step})` : 'every queued callback ran');
      }
      case 'requests-completed': {
        const reqs = this.p.objects.filter((o) => o.type.k === 'struct' && o.type.name === 'request');
        const missing = reqs.filter((r) => !this.completed.has(r.addr));
        return v(missing.length === 0, missing.length ? `never completed: ${missing.map((r) => r.name).join(', ')}` : `${reqs.length} request${reqs.length === 1 ? '' : 's'} completed`);
      }
      case 'cpu-state': {
        const dead = m.isDead(e.cpu);
        const online = m.isOnline(e.cpu);
        const now = dead ? 'dead' : online ? 'online' : 'offline';
        const ok = e.state === 'dead' ? dead : e.state === 'offline' ? !online : online;
        return v(ok, `CPU${e.cpu} is ${now}`);
      }
      case 'count': {
        const c = this.counters.find((x) => x.e === e)!;
        return v(compare(c.n, e.op, e.n), `counted ${c.n}`);
      }
      case 'returns': {
        const r = judgeReturn(this.p, e, m);
        return v(r.ok, r.detail);
      }
    }
  }
}

/** Whether a named task's call returned what `expect TASK returns VALUE` says, and what it returned. */
export function judgeReturn(p: PreparedScenario, e: Extract<Expectation, { kind: 'returns' }>, m: Machine): { ok: boolean; detail: string } {
  const r = p.returns.get(e)!;
  if (m.mem[r.task + T_STATE] !== TASK_DEAD) return { ok: false, detail: `${e.task} has not returned` };
  const got = m.mem[r.result];
  return { ok: got === r.expected(m), detail: `${e.task} returned ${errnoName(p.program.constants, got)}` };
}

/** A value as a kernel developer reads it: -16 is -EBUSY. */
function errnoName(constants: ReadonlyMap<string, number>, v: number): string {
  if (v >= 0) return String(v);
  for (const [name, c] of constants) if (c === -v && /^E[A-Z0-9]+$/.test(name)) return `${v} (-${name})`;
  return String(v);
}

/** `a OP b` for a count expectation's comparison. */
export function compare(a: number, op: string, b: number): boolean {
  switch (op) {
    case '==': return a === b;
    case '!=': return a !== b;
    case '>=': return a >= b;
    case '<=': return a <= b;
    case '>': return a > b;
    default: return a < b;
  }
}
