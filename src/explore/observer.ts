import { Diagnostic } from '../kc/diagnostics.js';
import { MachineEvent } from '../machine/events.js';
import { Machine, StopReason, shortFile } from '../machine/machine.js';
import { symbolKey } from '../machine/tracking.js';
import { PreparedScenario, eventCondition } from '../scenario/build.js';
import { compare, judgeReturn } from '../scenario/expectations.js';
import { Expectation } from '../scenario/scenario.js';

/** An expectation that failed, with where and when. */
export interface Violation {
  /** the `expect` line, or 'the run ends by itself' */
  expectation: string;
  line?: number;
  detail: string;
  /** the step and CPU of the event that broke it (the WARN, the lost callback), if one did */
  step?: number;
  cpu?: number;
  event?: MachineEvent;
}

/**
 * Judges a scenario's expectations over one path of a search. Everything it
 * remembers is a few numbers (was there a WARN, which requests completed, how
 * many matching events), kept in `state` so the search can save, restore and
 * hash it with the machine's own state: two paths that reach the same
 * machine state with different histories are different states.
 *
 * `no warning` and `no lost work` break at the event itself; the others are
 * judged when the run ends.
 */
export class ExpectationObserver {
  /** [warned, lost work, completed-request words..., one counter per `count` expectation] */
  readonly state: Int32Array;
  /** the first expectation an event broke on this path (events only; reset on restore) */
  broken: Violation | undefined;
  private readonly requests: Map<number, number>;
  private readonly counters: { e: Extract<Expectation, { kind: 'count' }>; match?: (ev: MachineEvent) => boolean; cap: number; slot: number }[] = [];
  private readonly countersStart: number;
  private readonly breaksOnWarning: Expectation | undefined;
  private readonly breaksOnLostWork: Expectation | undefined;

  constructor(private readonly p: PreparedScenario, diagnostics: Diagnostic[] = []) {
    const reqs = p.objects.filter((o) => o.type.k === 'struct' && o.type.name === 'request');
    this.requests = new Map(reqs.map((r, i) => [r.addr, i]));
    this.countersStart = 2 + Math.ceil(reqs.length / 32);
    let slot = this.countersStart;
    for (const e of p.scenario.expectations) {
      if (e.kind !== 'count') continue;
      const match = e.where ? eventCondition(p.machine, p.scenario.file, e.where, diagnostics, e.event) : undefined;
      // a count above n+1 judges the same as n+1: capping keeps the number of states finite
      this.counters.push({ e, match, cap: e.n + 2, slot: slot++ });
    }
    this.state = new Int32Array(slot);
    this.breaksOnWarning = p.scenario.expectations.find((e) => e.kind === 'no-warning');
    this.breaksOnLostWork = p.scenario.expectations.find((e) => e.kind === 'no-lost-work');
  }

  readonly listener = (ev: MachineEvent): void => {
    const s = this.state;
    switch (ev.kind) {
      case 'warn':
      case 'bug':
        s[0] = 1;
        if (this.breaksOnWarning) this.break(this.breaksOnWarning, ev, `${ev.kind === 'bug' ? 'BUG' : 'WARN'} on CPU${ev.cpu}: ${ev.fields.message || `WARNING in ${ev.fields.function}()`}`);
        break;
      case 'lost-work':
        s[1] = 1;
        if (this.breaksOnLostWork) this.break(this.breaksOnLostWork, ev, `${this.p.machine.symbol(ev.fields.func as number)} was still queued on CPU${ev.fields.target} when it died`);
        break;
      case 'request-complete': {
        const i = this.requests.get(ev.fields.rq as number);
        if (i !== undefined) s[2 + (i >> 5)] |= 1 << (i & 31);
        break;
      }
    }
    for (const c of this.counters) {
      if (c.e.event === ev.kind && s[c.slot] < c.cap && (!c.match || c.match(ev))) s[c.slot]++;
    }
  };

  private break(e: Expectation, ev: MachineEvent, detail: string): void {
    this.broken ??= { expectation: e.text, line: e.range.start.line, detail, step: ev.step, cpu: ev.cpu, event: ev };
  }

  /** The observer's part of a state's hash. */
  hash(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < this.state.length; i++) {
      const [a, b] = symbolKey(i, this.state[i]);
      lo ^= a;
      hi ^= b;
    }
    return [lo, hi];
  }

  restore(saved: Int32Array): void {
    this.state.set(saved);
    this.broken = undefined;
  }

  /** The expectations judged at the end of a run: the first that fails, if any. */
  judgeEnd(m: Machine, stop: StopReason): Violation | undefined {
    if (stop.kind === 'fault') {
      const where = stop.at ? ` at ${shortFile(stop.at.file)}:${stop.at.start.line}` : '';
      return { expectation: 'the run ends by itself', detail: `fault on CPU${stop.cpu}${where}: ${stop.message}`, step: m.steps, cpu: stop.cpu };
    }
    if (stop.kind !== 'done') return { expectation: 'the run ends by itself', detail: `${stop.kind}: ${stop.message}` };
    for (const e of this.p.scenario.expectations) {
      const detail = this.failure(e, m);
      if (detail !== undefined) return { expectation: e.text, line: e.range.start.line, detail };
    }
    return undefined;
  }

  /** Why an expectation fails at the end of this run, or undefined when it holds. */
  private failure(e: Expectation, m: Machine): string | undefined {
    const s = this.state;
    switch (e.kind) {
      case 'no-warning': return s[0] ? 'a WARN fired' : undefined;
      case 'no-lost-work': return s[1] ? 'a callback was lost' : undefined;
      case 'requests-completed': {
        const missing = [...this.requests].filter(([, i]) => !(s[2 + (i >> 5)] & (1 << (i & 31))));
        if (!missing.length) return undefined;
        const names = missing.map(([addr]) => this.p.objects.find((o) => o.addr === addr)?.name ?? `0x${addr.toString(16)}`);
        return `never completed: ${names.join(', ')}`;
      }
      case 'cpu-state': {
        const now = m.isDead(e.cpu) ? 'dead' : m.isOnline(e.cpu) ? 'online' : 'offline';
        const ok = e.state === 'offline' ? now !== 'online' : now === e.state;
        return ok ? undefined : `CPU${e.cpu} is ${now}`;
      }
      case 'count': {
        const c = this.counters.find((x) => x.e === e)!;
        const n = s[c.slot];
        return compare(n, e.op, e.n) ? undefined : `counted ${n >= c.cap ? `${n - 1} or more` : n}`;
      }
      case 'returns': {
        const r = judgeReturn(this.p, e, m);
        return r.ok ? undefined : r.detail;
      }
    }
  }

  /**
   * What a finished run amounts to, as one line: how it ended, whether it
   * warned or lost work, and the value behind each expectation. Two searches
   * of the same scenario reach the same set of these.
   */
  outcome(m: Machine, stop: StopReason): string {
    const s = this.state;
    const parts = [stop.kind, `warned=${s[0]}`, `lost=${s[1]}`];
    for (const e of this.p.scenario.expectations) {
      if (e.kind === 'cpu-state') parts.push(`cpu${e.cpu}=${m.isDead(e.cpu) ? 'dead' : m.isOnline(e.cpu) ? 'online' : 'offline'}`);
      if (e.kind === 'requests-completed') parts.push(`completed=${Array.from(s.subarray(2, this.countersStart)).join(',')}`);
      if (e.kind === 'returns') parts.push(`${e.task}=${judgeReturn(this.p, e, m).detail.replace(/^\S+ /, '')}`);
    }
    for (const c of this.counters) parts.push(`count${c.slot - this.countersStart}=${s[c.slot]}`);
    return parts.join(' ');
  }
}
