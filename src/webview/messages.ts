/** The messages between the timeline panel (extension side) and its webview. */
import type { CompactTimeline } from '../timeline/compact.js';

/** The debug adapter's `timeline` answer, passed on as it is. */
export type TimelineBody = CompactTimeline & { currentStep: number };

/** From the webview. */
export type ViewMessage =
  | { type: 'ready' }
  | { type: 'query'; id: number; fromStep: number; toStep: number; resolution: number }
  /** `keyboard`: asked from the keyboard, so the keyboard focus comes back to the panel after the stop */
  | { type: 'travel'; step: number; cpu: number; keyboard: boolean };

/** To the webview. */
export type PanelMessage =
  | { type: 'view'; id: number; body: TimelineBody }
  | { type: 'changed'; currentStep: number; endStep: number }
  | { type: 'focus'; cpu: number | undefined }
  | { type: 'error'; message: string }
  | { type: 'ended' };
