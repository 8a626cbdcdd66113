/**
 * The timeline page's questions to the debug adapter: which go, and when. A question goes when
 * the view has too little held around it (heldAnswers.ts), unless one on its way will bring
 * enough. At most two are on their way: a view that outruns the one on its way is asked for at
 * once instead of after it, and a busy adapter never gets a queue of views already left
 * behind; past two, the latest view is asked for as soon as an answer comes.
 */
import { HeldAnswers, Reach, covers } from './heldAnswers.js';

const MOST_ON_THEIR_WAY = 2;

/** What the questions need of the page. */
export interface Asker {
  /** what the view needs held around it; undefined while the page knows no run */
  enough(): Reach | undefined;
  /** the question for the view as it is now */
  question(): Reach;
  held: HeldAnswers;
  send(id: number, question: Reach): void;
  /** how many questions are on their way, after each change */
  onTheirWay(count: number): void;
}

export class Questions {
  private lastId = 0;
  /** the questions on their way, by number, with what each asked; none for one asked before the run last changed */
  private readonly onTheirWay = new Map<number, Reach | undefined>();
  private wanted = false;

  constructor(private readonly asker: Asker) {}

  /** The view moved or the answers held changed: a question goes if the view needs one. */
  want(): void {
    this.wanted = true;
    queueMicrotask(() => this.send());
  }

  /**
   * The answer to (or a failure of) question `id` came back. Says whether its answer shows the
   * run as it is (it was asked since the run last changed), and so may be held.
   */
  answered(id: number): boolean {
    const current = this.onTheirWay.get(id) !== undefined;
    this.onTheirWay.delete(id);
    this.asker.onTheirWay(this.onTheirWay.size);
    // a view left waiting for room goes once the page has held this answer
    queueMicrotask(() => this.send());
    return current;
  }

  /** The run changed: the answers on their way show it as it was. */
  forget(): void {
    for (const id of this.onTheirWay.keys()) this.onTheirWay.set(id, undefined);
  }

  /** The session ended: no answer on its way will come. */
  giveUp(): void {
    this.onTheirWay.clear();
    this.wanted = false;
    this.asker.onTheirWay(0);
  }

  private send(): void {
    if (!this.wanted) return;
    const enough = this.asker.enough();
    if (!enough || this.asker.held.covering(enough) || this.coming(enough)) {
      this.wanted = false;
      return;
    }
    if (this.onTheirWay.size >= MOST_ON_THEIR_WAY) return;
    this.wanted = false;
    const id = ++this.lastId;
    const question = this.asker.question();
    this.onTheirWay.set(id, question);
    this.asker.onTheirWay(this.onTheirWay.size);
    this.asker.send(id, question);
  }

  /** A question on its way whose answer will cover `enough`. */
  private coming(enough: Reach): boolean {
    for (const asked of this.onTheirWay.values()) if (asked && covers(asked, enough)) return true;
    return false;
  }
}
