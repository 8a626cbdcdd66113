/**
 * How far the explorations VS Code starts may go (the Testing view's and
 * Explore from Here's), and how a cut search says what cut it.
 */
import * as vscode from 'vscode';

/** The `smplab.explore.maxStates` setting: a search stops after this many distinct states. */
export function maxStates(): number {
  return vscode.workspace.getConfiguration('smplab').get<number>('explore.maxStates', 2_000_000);
}

/** What cut a search, for a sentence: "2,000,000 states" for max-states, other limits by their option name. */
export function searchCutText(limitedBy: string[], maxStates: number): string {
  return limitedBy.map((limit) => (limit === 'max-states' ? `${maxStates.toLocaleString('en-US')} states` : limit)).join(', ');
}
