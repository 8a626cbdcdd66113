import { BuiltinFunction, Builtins, CallSite, Runtime } from '../kc/runtime.js';
import { isStringValue } from '../kc/types.js';
import { MICROSECONDS_PER_STEP } from './clock.js';
import { formatPrintk } from './format.js';
import {
  HARDIRQ_MASK, KTHREAD_IS_PARKED, KTHREAD_SHOULD_PARK, PRIO_IDLE, PRIO_NORMAL, PRIO_STOP, R_CURRENT, R_IRQS_ON, R_NEED_RESCHED,
  R_PREEMPT, R_SOFTIRQ_PENDING, SOFTIRQ_MASK, SOFTIRQ_OFFSET, SLEEPING_IN_MSLEEP, TASK_PARKED, TASK_UNINTERRUPTIBLE, T_CPU, T_KTHREAD_FLAGS, T_ON_RQ, T_PRIO, T_STATE, T_WAIT,
} from './layout.js';
import type { Machine } from './machine.js';

/** x86's EFLAGS.IF: what local_irq_save() leaves in `flags` when interrupts were on. */
const X86_EFLAGS_IF = 0x200;

/** Declarations every model sees: the types and masks the machine itself relies on. */
const PRELUDE = `
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long uintptr_t;
typedef int pid_t;
struct llist_node { struct llist_node *next; };
struct llist_head { struct llist_node *first; };
struct cpumask { unsigned long bits[NR_CPUMASK_WORDS]; };
typedef struct cpumask cpumask_t;
typedef struct cpumask cpumask_var_t[1];
typedef struct atomic { int counter; } atomic_t;
typedef struct spinlock { int locked; } spinlock_t;
typedef struct raw_spinlock { int locked; } raw_spinlock_t;
struct mutex { int owner; };
struct completion { unsigned int done; };
struct task_struct;
struct cpumask __cpu_possible_mask;
struct cpumask __cpu_online_mask;
struct cpumask __cpu_active_mask;
struct cpumask __cpumask_of[NR_CPUS];
#define cpu_possible_mask (&__cpu_possible_mask)
#define cpu_online_mask (&__cpu_online_mask)
#define cpu_active_mask (&__cpu_active_mask)
#define nr_cpu_ids NR_CPUS
#define oops_in_progress 0
#define TASK_RUNNING 0
#define TASK_INTERRUPTIBLE 1
#define TASK_UNINTERRUPTIBLE 2
#define TASK_PARKED 512
#define SOFTIRQ_OFFSET 0x100
#define HARDIRQ_OFFSET 0x10000
`;

type Impl = (m: Machine, site: CallSite, ...args: number[]) => number;

function fn(params: number, returns: BuiltinFunction['returns'], impl: Impl, extra: Partial<BuiltinFunction> = {}): BuiltinFunction {
  return { params: new Array(params).fill('value'), returns, impl: impl as BuiltinFunction['impl'], ...extra };
}

function proc(params: number, impl: (m: Machine, site: CallSite, ...args: number[]) => void): BuiltinFunction {
  return fn(params, 'void', (m, site, ...a) => {
    impl(m, site, ...a);
    return 0;
  });
}

function withAddress(b: BuiltinFunction, ...addressArgs: number[]): BuiltinFunction {
  const params = b.params.slice();
  for (const i of addressArgs) params[i] = 'address';
  return { ...b, params };
}

const reg = (m: Machine, r: number) => m.reg(m.cpu, r);

function setIrqs(m: Machine, on: boolean): void {
  m.setIrqsOn(m.cpu, on);
}

function addPreempt(m: Machine, d: number): void {
  const r = reg(m, R_PREEMPT);
  m.store(r, m.mem[r] + d);
}

// ---- cpumasks: NR_CPUMASK_WORDS words of 32 bits

function words(m: Machine): number {
  return Math.ceil(m.nrCpus / 32);
}

function testBit(m: Machine, mask: number, cpu: number): boolean {
  if (cpu < 0 || cpu >= m.nrCpus) return false;
  return ((m.load(mask + (cpu >> 5)) >>> (cpu & 31)) & 1) === 1;
}

/** A cpumask as the kernel's %*pb prints it: 32-bit hex words, highest first, comma-separated (`6` for CPUs 1 and 2 of 3). */
function cpumaskText(m: Machine, mask: number): string {
  const words = Math.ceil(m.nrCpus / 32);
  // the highest word is as wide as the CPUs it holds need, the others 8 digits
  const topDigits = Math.ceil((m.nrCpus - 32 * (words - 1)) / 4);
  const out: string[] = [];
  for (let w = words - 1; w >= 0; w--) out.push((m.load(mask + w) >>> 0).toString(16).padStart(w === words - 1 ? topDigits : 8, '0'));
  return out.join(',');
}

function setBit(m: Machine, mask: number, cpu: number, on: boolean): void {
  if (cpu < 0 || cpu >= m.nrCpus) m.fault(`CPU ${cpu} does not exist (the machine has ${m.nrCpus})`);
  const a = mask + (cpu >> 5);
  const w = m.load(a);
  m.store(a, on ? w | (1 << (cpu & 31)) : w & ~(1 << (cpu & 31)));
}

/** The next CPU after n in mask (and in `and`, when given), or nr_cpu_ids. */
function nextBit(m: Machine, n: number, mask: number, and?: number): number {
  for (let c = n + 1; c < m.nrCpus; c++) {
    if (testBit(m, mask, c) && (and === undefined || testBit(m, and, c))) return c;
  }
  return m.nrCpus;
}

function weight(m: Machine, mask: number): number {
  let n = 0;
  for (let c = 0; c < m.nrCpus; c++) if (testBit(m, mask, c)) n++;
  return n;
}

function cpumaskOf(m: Machine, c: number): number {
  if (c < 0 || c >= m.nrCpus) m.fault(`cpumask_of(${c}): no such CPU`);
  return m.program.globals.get('__cpumask_of')!.addr + c * words(m);
}

/** -EINVAL, as irq_set_affinity() returns it for a mask with no online CPU */
const EINVAL_NEGATIVE = -22;

/** The index of device interrupt `irq` (numbered from 1); a fault for a number the scenario has no irq line for. */
function deviceIrq(m: Machine, irq: number): number {
  if (irq < 1 || irq > m.deviceIrqs.length) m.fault(`irq ${irq} does not exist (the scenario has ${m.deviceIrqs.length} irq lines, numbered from 1)`);
  return irq - 1;
}

function online(m: Machine, cpu: number): boolean {
  return testBit(m, m.mask('online'), cpu);
}

function setOnline(m: Machine, site: CallSite, cpu: number, on: number): void {
  const was = online(m, cpu);
  setBit(m, m.mask('online'), cpu, !!on);
  if (was !== !!on) m.emit(on ? 'cpu-online' : 'cpu-offline', { target: cpu }, site.range);
}

// ---- printk and WARN

function str(m: Machine, v: number): string {
  return isStringValue(v) ? m.program.strings[v & 0xffffff] : '(efault)';
}

function render(m: Machine, site: CallSite, values: readonly number[]): string {
  return formatPrintk(site.format ?? '', values, (v, withOffset) => (withOffset ? m.symbolWithOffset(v) : m.symbol(v)), (v) => str(m, v)).replace(/\n$/, '');
}

function printk(level: string): BuiltinFunction {
  return {
    params: [], returns: 'int', format: 'printk',
    impl: ((m: Machine, site: CallSite, values: number[]) => {
      let text = render(m, site, values);
      let lvl = level;
      const kern = /^\x01?<(\d)>/.exec(text);
      if (kern) {
        lvl = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'][Number(kern[1])] ?? level;
        text = text.slice(kern[0].length);
      }
      m.emit('printk', { message: text, level: lvl }, site.range);
      return text.length;
    }) as BuiltinFunction['impl'],
  };
}

/** WARN_ON(c), WARN_ON_ONCE(c), WARN(c, fmt, ...), WARN_ONCE(c, fmt, ...): returns the condition. */
function warn(once: boolean, hasFormat: boolean): BuiltinFunction {
  return {
    params: [], returns: 'int', format: 'warn',
    impl: ((m: Machine, site: CallSite, values: number[]) => {
      const cond = values[0] ? 1 : 0;
      if (!cond) return 0;
      if (once) {
        if (m.load(site.onceAddr)) return cond;
        m.store(site.onceAddr, 1);
      }
      const message = hasFormat ? render(m, site, values.slice(1)) : '';
      m.emit('warn', { message, once: once ? 1 : 0, function: site.functionName }, site.range);
      return cond;
    }) as BuiltinFunction['impl'],
  };
}

/** BUG(): stop the machine with the kernel's message. */
function kernelBug(m: Machine, site: CallSite): number {
  const where = `${site.range.file.split(/[\\/]/).pop()}:${site.range.start.line}`;
  m.emit('bug', { message: `kernel BUG at ${where}!`, function: site.functionName }, site.range);
  return m.fault(`kernel BUG at ${where}! (in ${site.functionName}())`);
}

/** BUG_ON(c): BUG() when the condition holds. */
const bugOn: BuiltinFunction = {
  params: [], returns: 'void', format: 'warn',
  impl: ((m: Machine, site: CallSite, values: number[]) => (values[0] ? kernelBug(m, site) : 0)) as BuiltinFunction['impl'],
};

/**
 * The tasks queued on CPU c that rq->nr_running counts: runnable or
 * running, highest priority first, its idle task left out.
 */
function runQueue(m: Machine, c: number): number[] {
  if (c < 0 || c >= m.nrCpus) m.fault(`no CPU ${c}`);
  const queued = m.tasks(c).filter((t) => m.load(t + T_ON_RQ) && m.load(t + T_PRIO) !== PRIO_IDLE);
  return queued.sort((a, b) => m.load(b + T_PRIO) - m.load(a + T_PRIO));
}

// ---- sleeping on a completion or a mutex

/**
 * The current task sleeps until `addr` (a completion, a mutex) is released:
 * it leaves its CPU, and others run there meanwhile. Woken, it tries again.
 */
function sleepOn(m: Machine, addr: number): number {
  const task = m.currentTask(m.cpu);
  m.store(task + T_STATE, TASK_UNINTERRUPTIBLE);
  m.store(task + T_WAIT, addr);
  m.requestSchedule();
  return 0;
}

/** complete() or mutex_unlock(): wake the first task (in creation order) asleep on `addr`. */
function wakeOneSleeper(m: Machine, addr: number): void {
  for (const t of m.allTasks()) {
    if (m.load(t + T_WAIT) === addr && m.load(t + T_STATE) === TASK_UNINTERRUPTIBLE) {
      m.wakeUp(t, TASK_UNINTERRUPTIBLE);
      return;
    }
  }
}

// ---- kthread parking

/**
 * kthread_parkme(): if asked to park, sleep in TASK_PARKED (which only
 * kthread_unpark() wakes) and tell a waiting kthread_park() it is parked.
 */
function parkCurrent(m: Machine): void {
  const task = m.currentTask(m.cpu);
  const flags = task + T_KTHREAD_FLAGS;
  if (!(m.load(flags) & KTHREAD_SHOULD_PARK)) return;
  m.store(task + T_STATE, TASK_PARKED);
  m.store(flags, m.load(flags) | KTHREAD_IS_PARKED);
  m.requestSchedule();
}

// ---- locks: a lock that is taken makes the CPU wait for its cell to change

function tryLock(m: Machine, lock: number): boolean {
  if (m.load(lock)) {
    m.blockOn([lock]);
    return false;
  }
  m.store(lock, m.cpu + 1);
  return true;
}

const spinLock = fn(1, 'int', (m, _s, l) => {
  if (!tryLock(m, l)) return 0;
  addPreempt(m, 1);
  return 1;
}, { blocking: true });

const spinLockIrq = fn(1, 'int', (m, _s, l) => {
  if (m.load(l)) return tryLock(m, l) ? 1 : 0;
  setIrqs(m, false);
  addPreempt(m, 1);
  m.store(l, m.cpu + 1);
  return 1;
}, { blocking: true });

const spinLockIrqsave = withAddress(fn(2, 'int', (m, _s, l, flags) => {
  if (m.load(l)) return tryLock(m, l) ? 1 : 0;
  m.store(flags, m.load(reg(m, R_IRQS_ON)) ? X86_EFLAGS_IF : 0);
  setIrqs(m, false);
  addPreempt(m, 1);
  m.store(l, m.cpu + 1);
  return 1;
}, { blocking: true }), 1);

const spinUnlock = proc(1, (m, _s, l) => {
  m.store(l, 0);
  addPreempt(m, -1);
});

const spinUnlockIrq = proc(1, (m, _s, l) => {
  m.store(l, 0);
  addPreempt(m, -1);
  setIrqs(m, true);
});

const spinUnlockIrqrestore = proc(2, (m, _s, l, flags) => {
  m.store(l, 0);
  addPreempt(m, -1);
  setIrqs(m, (flags & X86_EFLAGS_IF) !== 0);
});

export function machineBuiltins(): Builtins {
  const functions: Record<string, BuiltinFunction> = {
    // CPU identity and preemption
    smp_processor_id: fn(0, 'int', (m) => m.cpu),
    raw_smp_processor_id: fn(0, 'int', (m) => m.cpu),
    get_cpu: fn(0, 'int', (m) => {
      addPreempt(m, 1);
      return m.cpu;
    }),
    put_cpu: proc(0, (m) => addPreempt(m, -1)),
    preempt_disable: proc(0, (m) => addPreempt(m, 1)),
    preempt_enable: proc(0, (m) => addPreempt(m, -1)),
    preempt_enable_no_resched: proc(0, (m) => addPreempt(m, -1)),
    preempt_count: fn(0, 'int', (m) => m.load(reg(m, R_PREEMPT))),
    in_interrupt: fn(0, 'int', (m) => (m.load(reg(m, R_PREEMPT)) & (HARDIRQ_MASK | SOFTIRQ_MASK)) !== 0 ? 1 : 0),
    in_irq: fn(0, 'int', (m) => (m.load(reg(m, R_PREEMPT)) & HARDIRQ_MASK) !== 0 ? 1 : 0),
    in_softirq: fn(0, 'int', (m) => (m.load(reg(m, R_PREEMPT)) & SOFTIRQ_MASK) !== 0 ? 1 : 0),
    local_bh_disable: proc(0, (m) => addPreempt(m, SOFTIRQ_OFFSET)),
    local_bh_enable: proc(0, (m) => addPreempt(m, -SOFTIRQ_OFFSET)),

    // interrupt flags
    local_irq_disable: proc(0, (m) => setIrqs(m, false)),
    local_irq_enable: proc(0, (m) => setIrqs(m, true)),
    hard_irq_disable: proc(0, (m) => setIrqs(m, false)),
    irqs_disabled: fn(0, 'int', (m) => (m.load(reg(m, R_IRQS_ON)) ? 0 : 1)),
    local_irq_save: withAddress(proc(1, (m, _s, flags) => {
      m.store(flags, m.load(reg(m, R_IRQS_ON)) ? X86_EFLAGS_IF : 0);
      setIrqs(m, false);
    }), 0),
    local_save_flags: withAddress(proc(1, (m, _s, flags) => {
      m.store(flags, m.load(reg(m, R_IRQS_ON)) ? X86_EFLAGS_IF : 0);
    }), 0),
    local_irq_restore: proc(1, (m, _s, flags) => setIrqs(m, (flags & X86_EFLAGS_IF) !== 0)),

    // waiting, idle and death
    cpu_relax: proc(0, (m, site) => m.relax(site)),
    arch_cpu_idle: proc(0, (m) => m.halt()),
    hlt_play_dead: proc(0, (m) => {
      setIrqs(m, false);
      m.die();
    }),

    // CPU masks
    cpu_online: fn(1, 'bool', (m, _s, c) => (online(m, c) ? 1 : 0)),
    cpu_is_offline: fn(1, 'bool', (m, _s, c) => (online(m, c) ? 0 : 1)),
    cpu_active: fn(1, 'bool', (m, _s, c) => (testBit(m, m.mask('active'), c) ? 1 : 0)),
    cpu_possible: fn(1, 'bool', (m, _s, c) => (testBit(m, m.mask('possible'), c) ? 1 : 0)),
    set_cpu_online: proc(2, (m, site, c, on) => setOnline(m, site, c, on)),
    set_cpu_active: proc(2, (m, _s, c, on) => setBit(m, m.mask('active'), c, !!on)),
    num_online_cpus: fn(0, 'int', (m) => weight(m, m.mask('online'))),
    cpumask_of: fn(1, 'struct cpumask *', (m, _s, c) => cpumaskOf(m, c)),
    cpumask_test_cpu: fn(2, 'bool', (m, _s, c, mask) => (testBit(m, mask, c) ? 1 : 0)),
    cpumask_subset: fn(2, 'bool', (m, _s, a, b) => {
      for (let i = 0; i < words(m); i++) if (m.load(a + i) & ~m.load(b + i)) return 0;
      return 1;
    }),
    cpumask_any_and: fn(2, 'int', (m, _s, a, b) => nextBit(m, -1, a, b)),
    cpumask_first: fn(1, 'int', (m, _s, mask) => nextBit(m, -1, mask)),
    cpumask_next: fn(2, 'int', (m, _s, n, mask) => nextBit(m, n, mask)),
    cpumask_next_and: fn(3, 'int', (m, _s, n, a, b) => nextBit(m, n, a, b)),
    cpumask_weight: fn(1, 'int', (m, _s, mask) => weight(m, mask)),
    cpumask_empty: fn(1, 'bool', (m, _s, mask) => (weight(m, mask) === 0 ? 1 : 0)),
    cpumask_and: fn(3, 'bool', (m, _s, d, a, b) => {
      let any = 0;
      for (let i = 0; i < words(m); i++) {
        const w = m.load(a + i) & m.load(b + i);
        m.store(d + i, w);
        any |= w;
      }
      return any ? 1 : 0;
    }),
    cpumask_copy: proc(2, (m, _s, d, s) => {
      for (let i = 0; i < words(m); i++) m.store(d + i, m.load(s + i));
    }),
    cpumask_set_cpu: proc(2, (m, _s, c, mask) => setBit(m, mask, c, true)),
    cpumask_clear_cpu: proc(2, (m, _s, c, mask) => setBit(m, mask, c, false)),
    cpumask_clear: proc(1, (m, _s, mask) => {
      for (let i = 0; i < words(m); i++) m.store(mask + i, 0);
    }),

    // atomics and bit operations (the machine is sequentially consistent; each call is one atomic action)
    atomic_read: fn(1, 'int', (m, _s, v) => m.load(v)),
    atomic_set: proc(2, (m, _s, v, i) => m.store(v, i)),
    atomic_inc: proc(1, (m, _s, v) => m.store(v, m.load(v) + 1)),
    atomic_dec: proc(1, (m, _s, v) => m.store(v, m.load(v) - 1)),
    atomic_dec_and_test: fn(1, 'bool', (m, _s, v) => {
      const n = m.load(v) - 1;
      m.store(v, n);
      return n === 0 ? 1 : 0;
    }),
    atomic_inc_return: fn(1, 'int', (m, _s, v) => {
      const n = m.load(v) + 1;
      m.store(v, n);
      return n;
    }),
    xchg: fn(2, 'int', (m, _s, p, v) => {
      const old = m.load(p);
      m.store(p, v);
      return old;
    }),
    cmpxchg: fn(3, 'int', (m, _s, p, old, v) => {
      const cur = m.load(p);
      if (cur === old) m.store(p, v);
      return cur;
    }),
    test_and_set_bit: fn(2, 'bool', (m, _s, nr, p) => {
      const w = m.load(p);
      m.store(p, w | (1 << nr));
      return (w >>> nr) & 1;
    }),
    test_bit: fn(2, 'bool', (m, _s, nr, p) => (m.load(p) >>> nr) & 1),
    set_bit: proc(2, (m, _s, nr, p) => m.store(p, m.load(p) | (1 << nr))),
    clear_bit: proc(2, (m, _s, nr, p) => m.store(p, m.load(p) & ~(1 << nr))),
    smp_mb: proc(0, () => {}),
    smp_wmb: proc(0, () => {}),
    smp_rmb: proc(0, () => {}),
    mb: proc(0, () => {}),
    wmb: proc(0, () => {}),
    rmb: proc(0, () => {}),
    barrier: proc(0, () => {}),
    smp_mb__before_atomic: proc(0, () => {}),
    smp_mb__after_atomic: proc(0, () => {}),

    // lock-less lists: struct llist_head { first }, struct llist_node { next }
    init_llist_head: proc(1, (m, _s, h) => m.store(h, 0)),
    llist_add: fn(2, 'bool', (m, _s, node, head) => {
      const first = m.load(head);
      m.store(node, first);
      m.store(head, node);
      return first === 0 ? 1 : 0;
    }),
    llist_del_all: fn(1, 'struct llist_node *', (m, _s, head) => {
      const first = m.load(head);
      m.store(head, 0);
      return first;
    }),
    llist_reverse_order: fn(1, 'struct llist_node *', (m, _s, first) => {
      let prev = 0;
      let node = first;
      while (node) {
        const next = m.load(node);
        m.store(node, prev);
        prev = node;
        node = next;
      }
      return prev;
    }),
    llist_empty: fn(1, 'bool', (m, _s, head) => (m.load(head) === 0 ? 1 : 0)),

    // IPIs
    arch_send_call_function_single_ipi: proc(1, (m, site, cpu) => {
      if (cpu < 0 || cpu >= m.nrCpus) m.fault(`IPI to CPU ${cpu}, which does not exist`);
      m.sendIpi(cpu, site);
    }),
    arch_send_call_function_ipi_mask: proc(1, (m, site, mask) => {
      const targets: number[] = [];
      for (let c = 0; c < m.nrCpus; c++) if (testBit(m, mask, c)) targets.push(c);
      m.sendIpiMask(targets, cpumaskText(m, mask), site);
    }),

    // device interrupts: the scenario's irq lines, numbered from 1 as irq-entry numbers them
    irq_get_affinity_mask: fn(1, 'struct cpumask *', (m, _s, irq) => cpumaskOf(m, m.irqCpu(deviceIrq(m, irq)))),
    irq_set_affinity: fn(2, 'int', (m, _s, irq, mask) => {
      // x86's physical destination mode: the first online CPU of the mask
      const cpu = nextBit(m, -1, mask, m.mask('online'));
      if (cpu >= m.nrCpus) return EINVAL_NEGATIVE;
      m.routeIrq(deviceIrq(m, irq), cpu);
      return 0;
    }),
    apic_irr_test: fn(1, 'bool', (m, _s, irq) => (m.irqPendingHere(deviceIrq(m, irq)) ? 1 : 0)),
    irq_retrigger: proc(1, (m, _s, irq) => m.retriggerIrq(deviceIrq(m, irq))),

    // softirqs
    local_softirq_pending: fn(0, 'int', (m) => m.load(reg(m, R_SOFTIRQ_PENDING))),
    set_softirq_pending: proc(1, (m, _s, x) => m.store(reg(m, R_SOFTIRQ_PENDING), x)),
    __raise_softirq_irqoff: proc(1, (m, site, nr) => {
      const r = reg(m, R_SOFTIRQ_PENDING);
      m.store(r, m.load(r) | (1 << nr));
      m.emit('softirq-raise', { vec: nr }, site.range);
    }),

    // tasks
    set_current_state: proc(1, (m, _s, state) => m.store(m.currentTask(m.cpu) + T_STATE, state)),
    __set_current_state: proc(1, (m, _s, state) => m.store(m.currentTask(m.cpu) + T_STATE, state)),
    schedule: proc(0, (m) => m.requestSchedule()),
    schedule_preempt_disabled: proc(0, (m) => m.requestSchedule()),
    wake_up_process: fn(1, 'int', (m, _s, p) => {
      if (!p) m.fault('wake_up_process(NULL)');
      return m.wakeUp(p);
    }),
    need_resched: fn(0, 'bool', (m) => m.load(reg(m, R_NEED_RESCHED))),
    idle_cpu: fn(1, 'bool', (m, _s, c) => {
      if (c < 0 || c >= m.nrCpus) m.fault(`idle_cpu(${c}): no such CPU`);
      const cur = m.load(m.reg(c, R_CURRENT));
      if (m.load(cur + T_PRIO) !== 0) return 0;
      for (const t of m.tasks(c)) if (t !== cur && m.load(t + T_ON_RQ)) return 0;
      return 1;
    }),
    kthread_create_on_cpu: fn(4, 'struct task_struct *', (m, _s, f, data, cpu, name) => {
      if (cpu < 0 || cpu >= m.nrCpus) m.fault(`kthread_create_on_cpu: no CPU ${cpu}`);
      const fnId = f & 0xffffff;
      const target = m.function(fnId);
      if (!target) m.fault('kthread_create_on_cpu: not a function');
      const label = formatPrintk(str(m, name), [cpu], (v, withOffset) => (withOffset ? m.symbolWithOffset(v) : m.symbol(v)), (v) => str(m, v));
      const t = m.createTask(cpu, target, target.params.length ? [data] : [], label, PRIO_NORMAL, false);
      // 3.15 parks a new per-CPU kthread before returning it; kthread_unpark() starts it
      m.store(t + T_STATE, TASK_PARKED);
      m.store(t + T_KTHREAD_FLAGS, KTHREAD_SHOULD_PARK | KTHREAD_IS_PARKED);
      return t;
    }),
    sched_set_stop_task: proc(2, (m, _s, _cpu, p) => m.store(p + T_PRIO, PRIO_STOP)),

    // a CPU's run queue, as migrate_tasks() reads it (kernel/sched/core.c)
    rq_nr_running: fn(1, 'int', (m, _s, c) => runQueue(m, c).length),
    rq_pick_migratable_task: fn(1, 'struct task_struct *', (m, _s, c) => {
      const cur = m.currentTask(c);
      return runQueue(m, c).find((t) => t !== cur) ?? 0;
    }),
    __migrate_task: fn(3, 'int', (m, _s, p, src, dest) => {
      if (!p) m.fault('__migrate_task(NULL)');
      if (dest < 0 || dest >= m.nrCpus) m.fault(`__migrate_task: no CPU ${dest}`);
      if (m.load(p + T_CPU) !== src) return 0;
      m.migrateTask(p, dest);
      return 1;
    }),

    // parking per-CPU kthreads (kernel/kthread.c): the flags live in the task
    kthread_should_park: fn(0, 'bool', (m) => (m.load(m.currentTask(m.cpu) + T_KTHREAD_FLAGS) & KTHREAD_SHOULD_PARK ? 1 : 0)),
    kthread_parkme: proc(0, (m) => parkCurrent(m)),
    kthread_park: fn(1, 'int', (m, _s, k) => {
      if (!k) m.fault('kthread_park(NULL)');
      const flags = k + T_KTHREAD_FLAGS;
      m.store(flags, m.load(flags) | KTHREAD_SHOULD_PARK);
      if (k === m.currentTask(m.cpu)) return 1;
      m.wakeUp(k);
      // wait until the thread has parked itself
      if (m.load(flags) & KTHREAD_IS_PARKED) return 1;
      // a thread of this CPU parks only if the caller lets it run (the kernel's caller sleeps): yield, look again later
      if (m.load(k + T_CPU) === m.cpu) {
        m.requestSchedule();
        return 0;
      }
      m.blockOn([flags]);
      return 0;
    }, { blocking: true }),
    kthread_unpark: proc(1, (m, _s, k) => {
      if (!k) m.fault('kthread_unpark(NULL)');
      const flags = k + T_KTHREAD_FLAGS;
      const was = m.load(flags);
      m.store(flags, was & ~(KTHREAD_SHOULD_PARK | KTHREAD_IS_PARKED));
      if (was & KTHREAD_IS_PARKED) m.wakeUp(k, TASK_PARKED);
    }),

    // memory
    kzalloc: fn(1, 'void *', (m, _s, size) => m.alloc(Math.max(1, size))),
    kfree: proc(1, () => {}),

    // output
    printk: printk('info'),
    pr_emerg: printk('emerg'),
    pr_err: printk('err'),
    pr_warn: printk('warning'),
    pr_warning: printk('warning'),
    pr_notice: printk('notice'),
    pr_info: printk('info'),
    pr_debug: printk('debug'),
    WARN_ON: warn(false, false),
    WARN_ON_ONCE: warn(true, false),
    WARN: warn(false, true),
    WARN_ONCE: warn(true, true),
    BUG_ON: bugOn,
    BUG: fn(0, 'void', kernelBug),

    // locks, mutexes, completions
    spin_lock_init: proc(1, (m, _s, l) => m.store(l, 0)),
    raw_spin_lock_init: proc(1, (m, _s, l) => m.store(l, 0)),
    spin_lock: spinLock,
    raw_spin_lock: spinLock,
    spin_unlock: spinUnlock,
    raw_spin_unlock: spinUnlock,
    spin_lock_irq: spinLockIrq,
    raw_spin_lock_irq: spinLockIrq,
    spin_unlock_irq: spinUnlockIrq,
    raw_spin_unlock_irq: spinUnlockIrq,
    spin_lock_irqsave: spinLockIrqsave,
    raw_spin_lock_irqsave: spinLockIrqsave,
    spin_unlock_irqrestore: spinUnlockIrqrestore,
    raw_spin_unlock_irqrestore: spinUnlockIrqrestore,
    mutex_init: proc(1, (m, _s, l) => m.store(l, 0)),
    mutex_lock: fn(1, 'int', (m, _s, l) => {
      if (m.load(l)) return sleepOn(m, l);
      m.store(l, m.currentTask(m.cpu));
      m.store(m.currentTask(m.cpu) + T_WAIT, 0);
      return 1;
    }, { blocking: true }),
    mutex_unlock: proc(1, (m, _s, l) => {
      m.store(l, 0);
      wakeOneSleeper(m, l);
    }),
    init_completion: proc(1, (m, _s, c) => m.store(c, 0)),
    reinit_completion: proc(1, (m, _s, c) => m.store(c, 0)),
    complete: proc(1, (m, _s, c) => {
      m.store(c, m.load(c) + 1);
      wakeOneSleeper(m, c);
    }),
    wait_for_completion: fn(1, 'int', (m, _s, c) => {
      const done = m.load(c);
      if (!done) return sleepOn(m, c);
      m.store(c, done - 1);
      m.store(m.currentTask(m.cpu) + T_WAIT, 0);
      return 1;
    }, { blocking: true }),
    // msleep(ms): sleeps ms milliseconds of the machine's clock (one step is a microsecond)
    msleep: fn(1, 'int', (m, _s, ms) => {
      const task = m.currentTask(m.cpu);
      if (m.load(task + T_WAIT) !== SLEEPING_IN_MSLEEP) {
        m.sleepFor(Math.max(1, ms) * 1000 / MICROSECONDS_PER_STEP);
        return 0;
      }
      if (!m.sleepOver()) {
        // woken early: sleep on until the timer
        m.store(task + T_STATE, TASK_UNINTERRUPTIBLE);
        m.requestSchedule();
        return 0;
      }
      m.store(task + T_WAIT, 0);
      return 1;
    }, { blocking: true }),

    // tracepoints (several postdate the model's kernel; they exist so the debugger can see these moments)
    trace_csd_queue_cpu: proc(3, (m, site, cpu, func, csd) => m.emit('csd-queue', { cpu, callsite: m.callsite(), func, csd }, site.range)),
    trace_csd_function_entry: proc(2, (m, site, func, csd) => m.emit('csd-entry', { func, csd }, site.range)),
    trace_csd_function_exit: proc(2, (m, site, func, csd) => m.emit('csd-exit', { func, csd }, site.range)),
    trace_multi_stop_state: proc(2, (m, site, state, active) => m.emit('stop-machine-state', { state, active: active ? 1 : 0 }, site.range)),
    trace_cpu_notify: proc(2, (m, site, action, cpu) => m.emit('cpuhp', { action, target: cpu }, site.range)),
    trace_cpuhp_enter: proc(4, (m, site, cpu, target, idx, fun) => m.emit('cpuhp-enter', { cpu, target, idx, fun }, site.range)),
    trace_cpuhp_exit: proc(4, (m, site, cpu, state, idx, ret) => m.emit('cpuhp-exit', { cpu, state, idx, ret }, site.range)),
    trace_softirq_entry: proc(1, (m, site, nr) => m.emit('softirq-entry', { vec: nr }, site.range)),
    trace_softirq_exit: proc(1, (m, site, nr) => m.emit('softirq-exit', { vec: nr }, site.range)),
    trace_block_rq_complete: proc(1, (m, site, rq) => m.emit('request-complete', { rq }, site.range)),

    // topology
    cpus_share_cache: fn(2, 'bool', (m, _s, a, b) => {
      if (a < 0 || a >= m.nrCpus || b < 0 || b >= m.nrCpus) m.fault(`cpus_share_cache(${a}, ${b}): no such CPU`);
      return m.lastLevelCache[a] === m.lastLevelCache[b] ? 1 : 0;
    }),

    // boot settings the scenario makes
    scenario_rq_affinity: fn(0, 'int', (m) => m.rqAffinity),
  };
  return {
    functions,
    globals: {
      current: { type: 'struct task_struct *', kind: 'computed', read: (rt: Runtime) => (rt as Machine).currentTask(rt.cpu) },
      // irq 0 is not a scenario line: its irqs are 1..nr_irqs - 1
      nr_irqs: { type: 'int', kind: 'computed', read: (rt: Runtime) => (rt as Machine).deviceIrqs.length + 1 },
    },
    prelude: PRELUDE,
  };
}
