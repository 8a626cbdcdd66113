import { createServer } from 'node:net';
import { SmpLabSession } from './session.js';
import { connect } from './transport.js';

/** `smplab dap` on stdio, or `smplab dap --port N` on 127.0.0.1:N (one session per connection). */
export function serveFromCli(args: string[]): Promise<number> {
  const i = args.indexOf('--port');
  if (i < 0) return serveStdio();
  const port = Number(args[i + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('smplab dap: --port takes a port number\n');
    return Promise.resolve(2);
  }
  const server = createServer((socket) => connect(new SmpLabSession(), socket, socket, () => socket.destroy()));
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    process.stderr.write(`smplab dap: listening on 127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}\n`);
  });
  return new Promise(() => {});
}

/**
 * One session on stdin and stdout. The adapter ends when stdin closes (the
 * client has gone) or on SIGTERM, after what it has written is flushed; long
 * work shares the event loop, so either is heard at once.
 */
function serveStdio(): Promise<number> {
  const exit = () => process.stdout.write('', () => process.exit(0));
  connect(new SmpLabSession(), process.stdin, process.stdout, exit);
  process.on('SIGTERM', exit);
  return new Promise(() => {});
}
