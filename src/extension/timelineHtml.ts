/**
 * The timeline panel's page: the toolbar, the canvas and its one script, under a strict
 * Content-Security-Policy (no inline script, nothing remote). Kept apart from the panel's
 * VS Code glue so the benchmark serves the very same page in a browser.
 */

/** Where the page's script and style are, and the origin the CSP allows them from. */
export interface TimelinePageSources {
  /** the webview's `cspSource` */
  cspSource: string;
  /** dist/timelineView.js as the webview loads it */
  script: string;
  /** media/timeline.css as the webview loads it */
  style: string;
  /** a fresh random value per page */
  nonce: string;
}

export function timelineHtml({ cspSource, script, style, nonce }: TimelinePageSources): string {
  const csp = [`default-src 'none'`, `style-src ${cspSource}`, `script-src 'nonce-${nonce}'`, `img-src ${cspSource}`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>SMP Lab Timeline</title>
</head>
<body>
<div class="toolbar" role="toolbar" aria-label="Timeline">
  <button id="fit" title="Show the whole run (0)">Fit</button>
  <button id="zoomIn" title="Zoom in (+)">+</button>
  <button id="zoomOut" title="Zoom out (-)">−</button>
  <button id="prevMarker" title="Go to the previous WARN, BUG or lost work (P)">◀ Marker</button>
  <button id="nextMarker" title="Go to the next WARN, BUG or lost work (N)">Marker ▶</button>
  <span id="status" class="status" aria-live="polite"></span>
</div>
<div id="scroller" class="scroller">
  <canvas id="timeline" tabindex="0" role="img" aria-label="Timeline: one lane per CPU. Arrows move the view, + and - zoom, up and down choose a CPU, Enter goes to the step under the centre line, N and P to the next and previous marker."></canvas>
  <div id="lanesBelow"></div>
</div>
<div id="tooltip" class="tooltip" role="tooltip" hidden></div>
<div id="message" class="message" hidden></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
