// The stdio debug adapter (dist/debugAdapter.js); `--port N` serves on 127.0.0.1:N instead.
import { serveFromCli } from './serve.js';

void serveFromCli(process.argv.slice(2)).then((code) => process.exit(code));
