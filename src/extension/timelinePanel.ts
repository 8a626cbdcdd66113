/**
 * "SMP Lab: Show Timeline": a webview panel with every CPU as a lane. Thin glue: the
 * webview (src/webview/timeline.ts, bundled to dist/timelineView.js) draws and asks; this
 * passes its questions to the debug adapter (the `timeline` and `travelTo` custom requests)
 * and tells it when the run grew or travelled (the adapter's smplab.timelineChanged event)
 * and which CPU the Call Stack has selected.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PanelMessage, ViewMessage } from '../webview/messages';
import type { SmpLabAdapterFactory } from './adapter';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';
import { timelineHtml } from './timelineHtml';

const VIEW_TYPE = 'smplab.timeline';

class TimelinePanel {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly panel: vscode.WebviewPanel, public session: vscode.DebugSession | undefined, private readonly adapters: SmpLabAdapterFactory, extensionUri: vscode.Uri, onClosed: () => void) {
    panel.webview.html = html(panel.webview, extensionUri);
    panel.onDidDispose(() => {
      for (const d of this.disposables) d.dispose();
      onClosed();
    }, undefined, this.disposables);
    panel.webview.onDidReceiveMessage((m: ViewMessage) => this.receive(m), undefined, this.disposables);
  }

  post(m: PanelMessage): void {
    void this.panel.webview.postMessage(m);
  }

  /** A new session to follow: the webview asks for everything again. */
  follow(session: vscode.DebugSession): void {
    this.session = session;
    void this.announce();
  }

  private async receive(m: ViewMessage): Promise<void> {
    const session = this.session;
    if (!session) return this.post({ type: 'ended' });
    try {
      if (m.type === 'ready') {
        await this.announce();
        this.post({ type: 'focus', cpu: cpuOf(vscode.debug.activeStackItem, session) });
      } else if (m.type === 'query') {
        const { fromStep, toStep, resolution, fromCpu, toCpu } = m;
        const body = await this.adapters.ask(session, 'timeline', { fromStep, toStep, resolution, fromCpu, toCpu });
        this.post({ type: 'view', id: m.id, body });
      } else if (m.type === 'travel') {
        await this.keepInSight();
        const shown = stopShown(session, (threadId) => this.editorShowsTopFrame(session, threadId));
        await session.customRequest('travelTo', { step: m.step, threadId: m.cpu + 1 });
        await shown;
        this.takeKeyboardBack();
      }
    } catch (e) {
      log().warn(`timeline: ${m.type} failed: ${errorText(e)}`);
      this.post({ type: 'error', message: errorText(e), query: m.type === 'query' ? m.id : undefined });
    }
  }

  /**
   * Whether the active editor shows the top frame of CPU thread `threadId` already, its line
   * selected: VS Code then has nothing to move when it shows the stop, and says nothing.
   */
  private async editorShowsTopFrame(session: vscode.DebugSession, threadId: number): Promise<boolean> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return false;
    const trace = await this.adapters.ask(session, 'stackTrace', { threadId, levels: 1 });
    const top = (trace as { stackFrames: { line: number; source?: { path?: string } }[] }).stackFrames[0];
    return top?.source?.path === editor.document.uri.fsPath && editor.selection.active.line === top.line - 1;
  }

  /**
   * VS Code opens the source of a stop in the active editor group, which is the timeline's
   * own after a click in it (even when the webview does not count as focused): make the first
   * group active first, so the source opens there and the timeline stays in sight.
   */
  private async keepInSight(): Promise<void> {
    if (this.panel.viewColumn !== undefined && this.panel.viewColumn !== vscode.ViewColumn.One) {
      await vscode.commands.executeCommand('workbench.action.focusFirstEditorGroup');
    }
  }

  /**
   * The travel was asked from the panel, so the keyboard goes back to it once VS Code has
   * shown the stop's source (which takes the focus): the panel is focused, then told to focus
   * its canvas, which VS Code's focusing of the webview alone does not reach.
   */
  private takeKeyboardBack(): void {
    this.panel.reveal(this.panel.viewColumn, false);
    this.post({ type: 'travelled' });
  }

  /** Where the run is now, so the webview can size its view and ask for it. */
  private async announce(): Promise<void> {
    if (!this.session) return;
    const now = await this.adapters.ask(this.session, 'timeline', { fromStep: 0, toStep: 0, resolution: 1, fromCpu: 0, toCpu: 0 });
    this.post({ type: 'changed', currentStep: now.currentStep, endStep: now.endStep, nrCpus: now.nrCpus });
  }
}

/** How long VS Code may take to show a stop after a travel before the panel stops waiting. */
const STOP_SHOWN_DEADLINE_MS = 10_000;

/**
 * Resolves when VS Code has shown `session`'s next stop: it focuses the stop's frame (which
 * the extension hears) and then opens its source in an editor (which moves the selection in
 * it). Whichever of those comes last, or the deadline, ends the wait; so does the focused
 * frame's source being in the active editor already (`alreadyShown`), when nothing moves.
 */
function stopShown(session: vscode.DebugSession, alreadyShown: (threadId: number) => Promise<boolean>): Promise<void> {
  return new Promise((resolve) => {
    const listeners: vscode.Disposable[] = [];
    const done = () => {
      clearTimeout(deadline);
      for (const l of listeners) l.dispose();
      resolve();
    };
    let frameFocused = false;
    listeners.push(
      vscode.debug.onDidChangeActiveStackItem((item) => {
        if (item?.session.id !== session.id) return;
        frameFocused = true;
        alreadyShown(item.threadId).then((shown) => shown && done(), () => undefined);
      }),
      vscode.window.onDidChangeTextEditorSelection(() => {
        if (frameFocused) done();
      }),
      vscode.window.onDidChangeActiveTextEditor(() => {
        if (frameFocused) done();
      }),
    );
    const deadline = setTimeout(() => {
      log().info(`timeline: no sign of VS Code showing the stop within ${STOP_SHOWN_DEADLINE_MS / 1000} s of the travel; the keyboard goes back to the timeline`);
      done();
    }, STOP_SHOWN_DEADLINE_MS);
  });
}

/** The CPU a Call Stack selection is on: thread id = CPU + 1. */
function cpuOf(item: vscode.DebugThread | vscode.DebugStackFrame | undefined, session: vscode.DebugSession): number | undefined {
  return item && item.session.id === session.id ? item.threadId - 1 : undefined;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return timelineHtml({
    cspSource: webview.cspSource,
    script: String(webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'timelineView.js'))),
    style: String(webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'timeline.css'))),
    nonce: randomBytes(16).toString('base64'),
  });
}

/** The command, opening with each SMP Lab session (unless smplab.timeline.openOnStart is off), and the events passed on. */
export function registerTimeline(context: vscode.ExtensionContext, adapters: SmpLabAdapterFactory): void {
  let current: TimelinePanel | undefined;
  const smplabSession = () => {
    const s = vscode.debug.activeDebugSession;
    return s?.type === DEBUG_TYPE ? s : undefined;
  };
  const show = (session: vscode.DebugSession | undefined, preserveFocus: boolean) => {
    if (current) {
      if (session && current.session?.id !== session.id) current.follow(session);
      current.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'SMP Lab Timeline', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    });
    current = new TimelinePanel(panel, session, adapters, context.extensionUri, () => (current = undefined));
    log().info(`timeline opened${session ? ` for session ${session.id}` : ''}`);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('smplab.showTimeline', () => show(smplabSession(), false)),
    vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== DEBUG_TYPE) return;
      if (current) current.follow(session);
      else if (vscode.workspace.getConfiguration('smplab').get<boolean>('timeline.openOnStart', true)) show(session, true);
    }),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.event !== 'smplab.timelineChanged' || !current || current.session?.id !== e.session.id) return;
      current.post({ type: 'changed', currentStep: e.body.currentStep, endStep: e.body.endStep, nrCpus: e.body.nrCpus });
    }),
    vscode.debug.onDidChangeActiveStackItem((item) => {
      if (current?.session) current.post({ type: 'focus', cpu: cpuOf(item, current.session) });
    }),
    vscode.debug.onDidTerminateDebugSession((session) => {
      if (current?.session?.id === session.id) current.post({ type: 'ended' });
    }),
  );
}
