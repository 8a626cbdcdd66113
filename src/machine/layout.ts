/** Where the machine keeps its own state in memory, after the model's globals. */

/** Per-CPU registers: one block of CPU_REGS cells per CPU. */
export const CPU_REGS = 12;
export const R_IRQS_ON = 0;
export const R_PREEMPT = 1;
export const R_CURRENT = 2;
export const R_NEED_RESCHED = 3;
/**
 * The call-function IPIs pending at this CPU, one bit per x86 vector (the
 * local APIC's IRR for those two vectors): a single call and a mask call
 * are two interrupts, each taken once however many times it was sent.
 */
export const R_IPI_PENDING = 4;
/** an IPI in flight to this CPU: steps until it may arrive (-1: none in flight) */
export const R_IPI_EARLIEST = 5;
/** steps until the IPI in flight must arrive (-1: it may wait for ever) */
export const R_IPI_LATEST = 6;
/** bit i: device interrupt i is pending at this CPU */
export const R_DEV_PENDING = 7;
export const R_SOFTIRQ_PENDING = 8;
export const R_DEAD = 9;
/** 0 running, 1 waiting in a spin or lock, 2 halted in idle */
export const R_BLOCKED = 10;
/** the vectors (IPI_* bits) of the IPIs in flight to this CPU: they arrive together, when its IPI timer fires */
export const R_IPI_IN_FLIGHT = 11;
/** register names, by index, for debugger views and messages */
export const REGISTER_NAMES = ['irqs', 'preempt_count', 'current', 'need_resched', 'IPI pending', 'IPI may arrive in', 'IPI must arrive in', 'device irq pending', 'softirq pending', 'dead', 'blocked', 'IPI in flight'];

/** x86's two call-function vectors (arch/x86/include/asm/irq_vectors.h) */
export const CALL_FUNCTION_SINGLE_VECTOR = 0xfb;
export const CALL_FUNCTION_VECTOR = 0xfc;
/** their bits in R_IPI_PENDING and R_IPI_IN_FLIGHT */
export const IPI_CALL_FUNCTION_SINGLE = 1;
export const IPI_CALL_FUNCTION = 2;

/** Task blocks: TASK_HEADER cells, then the task's stack. */
export const TASK_HEADER = 12;
export const T_STATE = 0;
export const T_CPU = 1;
export const T_PRIO = 2;
/** frame pointer of the task's innermost frame, 0 once it has exited */
export const T_FP = 3;
export const T_NAME = 4;
export const T_PID = 5;
/** the task's preempt_count while it is switched out */
export const T_PREEMPT = 6;
/** 1 while the task is on its CPU's run queue: runnable, or preempted before it could sleep */
export const T_ON_RQ = 7;
/** a kthread's park flags (KTHREAD_SHOULD_PARK, KTHREAD_IS_PARKED), as kernel/kthread.c keeps them */
export const T_KTHREAD_FLAGS = 8;
export const KTHREAD_SHOULD_PARK = 1 << 2;
export const KTHREAD_IS_PARKED = 1 << 3;
/** what a sleeping task waits for: the completion or mutex it sleeps on, SLEEPING_IN_MSLEEP, or 0 */
export const T_WAIT = 9;
export const SLEEPING_IN_MSLEEP = -1;
/** the task's sleep timer (msleep), a pair of counters like the other timed events' */
export const T_SLEEP_TIMER = 10;
export const STACK_CELLS = 380;
export const TASK_CELLS = TASK_HEADER + STACK_CELLS;

export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 1;
export const TASK_UNINTERRUPTIBLE = 2;
export const TASK_DEAD = 64;
export const TASK_PARKED = 512;
/** the states wake_up_process() wakes: a parked task waits for kthread_unpark() */
export const TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;

export const PRIO_IDLE = 0;
export const PRIO_NORMAL = 1;
export const PRIO_STOP = 2;

/** Frame kinds, in the frame's KIND cell (low byte); the rest carries saved state. */
export const K_CALL = 0;
export const K_TASK = 1;
export const K_HARDIRQ = 2;
export const K_SOFTIRQ = 3;

/** preempt_count() layout, as in include/linux/preempt_mask.h */
export const PREEMPT_MASK = 0xff;
export const SOFTIRQ_OFFSET = 0x100;
export const SOFTIRQ_MASK = 0xff00;
export const HARDIRQ_OFFSET = 0x10000;
export const HARDIRQ_MASK = 0xf0000;

/**
 * Device interrupt table: per interrupt, steps until it may fire (-1: not
 * armed), steps until it must (-1: no deadline), whether it has fired, and
 * the CPU it is delivered to (its affinity, which fixup_irqs changes when
 * that CPU goes offline). An IPI in flight uses the same pair of counters
 * (R_IPI_EARLIEST, R_IPI_LATEST).
 */
export const IRQ_CELLS = 4;
export const I_EARLIEST = 0;
export const I_LATEST = 1;
export const I_FIRED = 2;
export const I_CPU = 3;
export const MAX_DEVICE_IRQS = 30;
