import { DebugSession } from '@vscode/debugadapter';
import { createServer } from 'node:net';
import { SmpLabSession } from './session.js';

/** `smplab dap` on stdio, or `smplab dap --port N` on 127.0.0.1:N (one session per connection). */
export function serveFromCli(args: string[]): Promise<number> {
  const i = args.indexOf('--port');
  if (i < 0) {
    DebugSession.run(SmpLabSession);
    return new Promise(() => {});
  }
  const port = Number(args[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('smplab dap: --port takes a port number\n');
    return Promise.resolve(2);
  }
  const server = createServer((socket) => {
    const session = new SmpLabSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  });
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    process.stderr.write(`smplab dap: listening on 127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}\n`);
  });
  return new Promise(() => {});
}
