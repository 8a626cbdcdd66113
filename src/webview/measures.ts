/// <reference lib="dom" />
/**
 * The timeline page's user-timing marks and measures, which anyone with the page can read
 * (the benches do, in a browser and in VS Code):
 *
 *   timeline: opened        the first message to the first frame showing the view in full detail
 *   timeline: view redrawn  a zoom, pan or resize to the first frame showing the new view in
 *                           full detail (from an answer held, or the one asked for it)
 *   timeline: answer        a question to its answer arriving
 *   timeline: draw          one frame
 *
 * "view redrawn" says in its detail which answer the frame drew (`answer`) and whether the
 * page held it already when the view moved (`held`) or had to wait for it.
 */
export class Measures {
  /** the measure waiting for a frame in full detail, and the newest answer held when it began */
  private waiting: { name: string; start: string; heldUpTo: number } | undefined;
  private firstMessage = true;
  private newestAnswer = 0;
  /** when each question still unanswered was asked, by its number */
  private readonly askedAt = new Map<number, number>();

  /** The page was told where the run is for the first time: opening ends when that shows. */
  firstMessageCame(): void {
    if (!this.firstMessage) return;
    this.firstMessage = false;
    performance.mark('timeline: first message');
    this.waiting = { name: 'timeline: opened', start: 'timeline: first message', heldUpTo: this.newestAnswer };
  }

  /** The view moved: the measure runs from the first move until the view shows in full. */
  viewChanged(): void {
    if (this.waiting) return;
    performance.mark('timeline: view changed');
    this.waiting = { name: 'timeline: view redrawn', start: 'timeline: view changed', heldUpTo: this.newestAnswer };
  }

  asked(id: number): void {
    this.askedAt.set(id, performance.now());
  }

  answered(id: number): void {
    this.newestAnswer = Math.max(this.newestAnswer, id);
    const start = this.askedAt.get(id);
    this.askedAt.delete(id);
    if (start === undefined) return;
    performance.clearMeasures('timeline: answer');
    performance.measure('timeline: answer', { start, detail: { query: id } });
  }

  /** A frame was drawn from `drawStart` from answer `answer`, showing the view in full detail or not. */
  drawn(drawStart: number, answer: number, fullDetail: boolean): void {
    performance.clearMeasures('timeline: draw');
    performance.measure('timeline: draw', { start: drawStart });
    const m = this.waiting;
    if (!m || !fullDetail) return;
    this.waiting = undefined;
    performance.clearMeasures(m.name);
    performance.measure(m.name, { start: m.start, detail: { answer, held: answer <= m.heldUpTo } });
  }
}
