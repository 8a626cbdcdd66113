// The timeline page's held answers (src/webview/heldAnswers.ts): what it asks for a view, when
// an answer it holds shows a view in full detail, and that the answer to its question spares
// the next question after a pan or a wheel notch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { expandTimeline } from '../src/timeline/answer.js';
import { queryTimeline } from '../src/timeline/query.js';
import { HeldAnswers, Reach, covers, coveredBy, enoughFor, needOf, questionFor } from '../src/webview/heldAnswers.js';
import { Questions } from '../src/webview/questions.js';
import { recordRace } from './helpers.js';

const MARGIN = 4;


/** A view as the page has one: any steps (a little before 0 and past the end too), at least 8 wide, over 800 pixels. */
function views(endStep: number, lastCpu: number): fc.Arbitrary<Reach> {
  return fc.record({ from: fc.double({ min: -endStep / 4, max: endStep, noNaN: true }), span: fc.double({ min: 8, max: endStep * 1.5, noNaN: true }), cpu: fc.nat(lastCpu), lanes: fc.nat(lastCpu) })
    .map(({ from, span, cpu, lanes }) => ({ fromStep: from, toStep: from + span, resolution: span / 800, fromCpu: cpu, toCpu: Math.min(lastCpu, cpu + lanes) }));
}

/** What the page does to a view: pan by `fraction` of it, or zoom by `factor` around `at` (a fraction of the way across). */
function pan(v: Reach, fraction: number): Reach {
  const d = (v.toStep - v.fromStep) * fraction;
  return { ...v, fromStep: v.fromStep + d, toStep: v.toStep + d };
}

function zoom(v: Reach, factor: number, at: number): Reach {
  const around = v.fromStep + (v.toStep - v.fromStep) * at;
  const fromStep = around - (around - v.fromStep) * factor;
  const toStep = around + (v.toStep - around) * factor;
  return { ...v, fromStep, toStep, resolution: (toStep - fromStep) / 800 };
}

/** One wheel notch (a delta of 360, as the page zooms: 1.0015 to the delta). */
const NOTCH = Math.pow(1.0015, 360);

test('the question for a view covers what leaves it unasked again, which covers what the view shows', () => {
  fc.assert(
    fc.property(views(1_000_000, 63), (v) => {
      const need = needOf(v, 1_000_000, 63);
      const enough = enoughFor(v, 1_000_000, 63);
      const question = questionFor(v, 1_000_000, 63, MARGIN);
      assert.ok(covers(enough, need), `enough ${JSON.stringify(enough)} does not cover need ${JSON.stringify(need)}`);
      assert.ok(covers(question, enough), `question ${JSON.stringify(question)} does not cover enough ${JSON.stringify(enough)}`);
      assert.ok(question.fromStep >= 0 && question.toStep <= 1_000_000 && question.fromCpu >= 0 && question.toCpu <= 63);
    }),
    { numRuns: 2000 },
  );
});

test('a held answer shows a view only with all its steps and lanes, at least as finely', () => {
  const held: Reach = { fromStep: 100, toStep: 200, resolution: 2, fromCpu: 1, toCpu: 3 };
  assert.ok(covers(held, held));
  assert.ok(covers(held, { fromStep: 120, toStep: 180, resolution: 3, fromCpu: 2, toCpu: 2 }));
  assert.ok(!covers(held, { ...held, fromStep: 99 }), 'a step before it');
  assert.ok(!covers(held, { ...held, toStep: 201 }), 'a step after it');
  assert.ok(!covers(held, { ...held, fromCpu: 0 }), 'a lane above it');
  assert.ok(!covers(held, { ...held, toCpu: 4 }), 'a lane below it');
  assert.ok(!covers(held, { ...held, resolution: 1.9 }), 'finer than it');
  // below a step per pixel the adapter answers per step: an answer per step shows any zoom
  assert.ok(covers({ ...held, resolution: 1 }, { ...held, resolution: 0.01 }));
});

test('the answer to the question for a view shows it, and its next pan and wheel notches, without asking', () => {
  const { r } = recordRace();
  const end = r.end;
  const last = r.nrCpus - 1;
  fc.assert(
    fc.property(views(end, last), fc.double({ min: 0.3, max: 0.7, noNaN: true }), (v, at) => {
      const q = questionFor(v, end, last, MARGIN);
      const answer = expandTimeline(queryTimeline(r, q.fromStep, q.toStep, q.resolution, q));
      const held = coveredBy(answer);
      assert.ok(covers(held, enoughFor(v, end, last)), `the answer ${JSON.stringify(held)} leaves ${JSON.stringify(v)} asking again`);
      for (const [what, next] of [['a pan right', pan(v, 0.1)], ['a pan left', pan(v, -0.1)], ['a notch in', zoom(v, 1 / NOTCH, at)]] as const) {
        assert.ok(covers(held, needOf(next, end, last)), `${what} from ${JSON.stringify(v)} is not shown by ${JSON.stringify(held)}`);
      }
    }),
    { numRuns: 300 },
  );
  // a notch out around the middle of the view, once its question is answered
  const v: Reach = { fromStep: 200, toStep: 300, resolution: 100 / 800, fromCpu: 0, toCpu: last };
  const q = questionFor(v, end, last, MARGIN);
  const held = coveredBy(expandTimeline(queryTimeline(r, q.fromStep, q.toStep, q.resolution, q)));
  assert.ok(covers(held, needOf(zoom(v, NOTCH, 0.5), end, last)));
  assert.ok(!covers(held, needOf(zoom(v, NOTCH * NOTCH, 0.5), end, last)), 'two notches out should need a question');
});

test('the page draws the newest answer that shows the view, else one with its steps and lanes, and forgets them all when the run changes', () => {
  const { r } = recordRace();
  const answer = (from: number, to: number, res: number) => expandTimeline(queryTimeline(r, from, to, res, { fromCpu: 0, toCpu: r.nrCpus - 1 }));
  const held = new HeldAnswers();
  held.add(1, answer(0, 600, 1));
  held.add(2, answer(100, 200, 1));
  held.add(3, answer(0, 600, 8));
  const lanes = { fromCpu: 0, toCpu: r.nrCpus - 1 };
  assert.equal(held.covering({ fromStep: 120, toStep: 180, resolution: 1, ...lanes })?.id, 2, 'the newest fine enough');
  assert.equal(held.covering({ fromStep: 0, toStep: 500, resolution: 10, ...lanes })?.id, 3, 'the newest of those that show it');
  assert.equal(held.covering({ fromStep: 0, toStep: 500, resolution: 2, ...lanes })?.id, 1);
  assert.equal(held.covering({ fromStep: 0, toStep: 650, resolution: 2, ...lanes }), undefined, 'past every answer');
  assert.equal(held.nearest({ fromStep: 150, toStep: 550, resolution: 0.5, ...lanes })?.id, 3, 'coarse, but all its steps');
  assert.equal(held.nearest({ fromStep: 0, toStep: 650, resolution: 2, ...lanes })?.id, 3, 'none has all: the newest');
  for (let id = 4; id < 40; id++) held.add(id, answer(0, 600, 8));
  assert.equal(held.covering({ fromStep: 120, toStep: 180, resolution: 1, ...lanes }), undefined, 'only the last few are kept');
  assert.equal(held.covering({ fromStep: 120, toStep: 180, resolution: 8, ...lanes })?.id, 39);
  held.forget();
  assert.equal(held.nearest({ fromStep: 0, toStep: 10, resolution: 1, ...lanes }), undefined);
});

/** The page's questions with a view that tests move, and the questions it sends. */
function page(endStep: number, lastCpu: number) {
  const sent: { id: number; q: Reach }[] = [];
  const held = new HeldAnswers();
  let view: Reach = { fromStep: 0, toStep: endStep, resolution: endStep / 800, fromCpu: 0, toCpu: lastCpu };
  let onTheirWay = 0;
  const questions = new Questions({
    enough: () => enoughFor(view, endStep, lastCpu),
    question: () => questionFor(view, endStep, lastCpu, MARGIN),
    held,
    send: (id, q) => sent.push({ id, q }),
    onTheirWay: (n) => (onTheirWay = n),
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    sent, held, questions, settle,
    get onTheirWay() { return onTheirWay; },
    move(v: Reach) { view = v; questions.want(); },
  };
}

test('the page asks once for a view, not again while that answer will cover it, and at most twice at a time', async () => {
  const { r } = recordRace();
  const p = page(r.end, r.nrCpus - 1);
  const answer = (q: Reach) => expandTimeline(queryTimeline(r, q.fromStep, q.toStep, q.resolution, q));
  const first: Reach = { fromStep: 100, toStep: 300, resolution: 0.25, fromCpu: 0, toCpu: 2 };
  p.move(first);
  p.move(first);
  await p.settle();
  assert.equal(p.sent.length, 1, 'the same view asked twice');
  p.move(pan(first, 0.1));
  await p.settle();
  assert.equal(p.sent.length, 1, 'a small pan asked again although the answer on its way covers it');
  // far away: asked at once, beside the one on its way
  p.move(pan(first, 3));
  await p.settle();
  assert.equal(p.sent.length, 2);
  assert.equal(p.onTheirWay, 2);
  // between the two: waits for room
  const between: Reach = { ...first, fromStep: 450, toStep: 550 };
  assert.ok(!covers(p.sent[0].q, enoughFor(between, r.end, r.nrCpus - 1)) && !covers(p.sent[1].q, enoughFor(between, r.end, r.nrCpus - 1)));
  p.move(between);
  await p.settle();
  assert.equal(p.sent.length, 2, 'a third question went while two were on their way');
  assert.ok(p.questions.answered(p.sent[0].id), 'an answer asked for the run as it is may be held');
  p.held.add(p.sent[0].id, answer(p.sent[0].q));
  await p.settle();
  assert.equal(p.sent.length, 3, 'the view left waiting was not asked once an answer came');
  assert.ok(covers(p.sent[2].q, enoughFor(between, r.end, r.nrCpus - 1)), 'the question that went is not for the view that waited');
  // the run changes: what is on its way shows the run as it was, and covers nothing
  p.questions.forget();
  assert.equal(p.questions.answered(p.sent[1].id), false);
  p.move(between);
  await p.settle();
  assert.equal(p.sent.length, 4, 'a question asked before the run changed kept the view from being asked for again');
  p.questions.giveUp();
  assert.equal(p.onTheirWay, 0);
});
