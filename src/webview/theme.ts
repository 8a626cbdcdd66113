/// <reference lib="dom" />
/** The colours the timeline draws with, read from the VS Code theme's CSS variables. */

export interface Theme {
  foreground: string;
  dim: string;
  background: string;
  laneAlt: string;
  focusLane: string;
  border: string;
  cursor: string;
  ipi: string;
  csd: string;
  warn: string;
  error: string;
  hardirq: string;
  softirq: string;
  idle: string;
  task: string;
  online: string;
  offline: string;
  dead: string;
  stopMachine: string;
  irqsOff: string;
  font: string;
  /** high contrast themes: outlines instead of fills that differ only in hue */
  highContrast: boolean;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cssVar(s, `--vscode-${name}`, fallback);
  const cls = document.body.classList;
  return {
    foreground: v('foreground', '#cccccc'),
    dim: v('descriptionForeground', '#999999'),
    background: v('editor-background', '#1e1e1e'),
    laneAlt: v('editor-lineHighlightBackground', 'rgba(128,128,128,0.08)'),
    focusLane: v('list-inactiveSelectionBackground', 'rgba(128,128,128,0.25)'),
    border: v('panel-border', 'rgba(128,128,128,0.35)'),
    cursor: v('focusBorder', '#007fd4'),
    ipi: v('charts-red', '#f14c4c'),
    csd: v('foreground', '#cccccc'),
    warn: v('editorWarning-foreground', '#cca700'),
    error: v('errorForeground', '#f48771'),
    hardirq: v('charts-orange', '#d18616'),
    softirq: v('charts-yellow', '#cca700'),
    idle: v('disabledForeground', 'rgba(128,128,128,0.5)'),
    task: v('charts-blue', '#3794ff'),
    online: v('charts-green', '#89d185'),
    offline: v('charts-yellow', '#cca700'),
    dead: v('charts-red', '#f14c4c'),
    stopMachine: v('charts-purple', '#b180d7'),
    irqsOff: v('foreground', '#cccccc'),
    font: v('font-family', 'sans-serif'),
    highContrast: cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light'),
  };
}

/** What runs, by kind: interrupt contexts their own colour, idle dim, every task alike (its name is written on it). */
export function runColour(t: Theme, label: string): string {
  if (label.startsWith('[hardirq]')) return t.hardirq;
  if (label.startsWith('[softirq]')) return t.softirq;
  if (label.startsWith('swapper/')) return t.idle;
  return t.task;
}

export function hotplugColour(t: Theme, label: string): string {
  return label === 'online' ? t.online : label === 'offline' ? t.offline : t.dead;
}
