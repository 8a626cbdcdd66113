/** The messages between the timeline panel (extension side) and its webview. */
import type { TimelineAnswer } from '../timeline/answer.js';

/** The debug adapter's `timeline` answer, passed on as it is. */
export type TimelineBody = TimelineAnswer & { currentStep: number };

/** From the webview. */
export type ViewMessage =
  | { type: 'ready' }
  | { type: 'query'; id: number; fromStep: number; toStep: number; resolution: number; fromCpu: number; toCpu: number }
  | { type: 'travel'; step: number; cpu: number };

/** To the webview. */
export type PanelMessage =
  | { type: 'view'; id: number; body: TimelineBody }
  | { type: 'changed'; currentStep: number; endStep: number; nrCpus: number }
  | { type: 'focus'; cpu: number | undefined }
  /** the travel the panel asked for has landed and its stop is shown: the keyboard comes back */
  | { type: 'travelled' }
  /** a request failed; `query` numbers the question it answers, if it was one */
  | { type: 'error'; message: string; query?: number }
  | { type: 'ended' };
