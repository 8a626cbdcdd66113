/**
 * Frames on stdio: what a broken or hostile client writes is reported and
 * skipped, and the adapter reads on; closing stdin ends it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawAdapter, within } from './dap-client.js';

/** A frame whose Content-Length says `length` whatever the body is. */
function frameWithLength(body: string, length: number | string): string {
  return `Content-Length: ${length}\r\n\r\n${body}`;
}

const INITIALIZE = JSON.stringify({ seq: 100, type: 'request', command: 'initialize', arguments: { adapterID: 'smplab' } });

describe('malformed frames on stdin', () => {
  let raw: RawAdapter;
  before(() => {
    raw = RawAdapter.start();
  });
  after(() => raw.kill());

  /** Sends bytes, then expects a report containing `report` and a normal answer to the next request. */
  async function survives(bytes: string | Buffer, report: RegExp): Promise<void> {
    const from = raw.messages.length;
    raw.sendBytes(bytes);
    const seq = raw.send('threads');
    const answer = await raw.response(seq);
    assert.ok(raw.alive, 'the adapter is alive');
    assert.equal(answer.command, 'threads');
    const said = raw.output(from);
    assert.match(said, /^SMP Lab ignored a message it could not read: /m);
    assert.match(said, report);
  }

  test('a body that is not JSON', async () => {
    await raw.request('initialize', { adapterID: 'smplab' });
    await survives(frameWithLength('{"seq": 1, this is not json', 27), /a message that is not JSON \(it begins "\{\\"seq\\": 1, this is not json"\)/);
  });

  test('null, a list, a string and a request without a command', async () => {
    await survives(frameWithLength('null', 4), /a message must be a JSON object, not null/);
    await survives(frameWithLength('[1,2]', 5), /a message must be a JSON object, not a list/);
    await survives(frameWithLength('"hi"', 4), /a message must be a JSON object, not string/);
    await survives(frameWithLength('{"type":"request"}', 18), /a request's "seq" must be a whole number, not missing/);
    const seq = 77;
    const body = `{"seq":${seq},"type":"request"}`;
    raw.sendBytes(frameWithLength(body, body.length));
    const r = await raw.response(seq);
    assert.equal(r.success, false);
    assert.equal(r.message, 'a request\'s "command" must be a string, not missing');
  });

  test('a Content-Length shorter than the body', async () => {
    const body = JSON.stringify({ seq: 5, type: 'request', command: 'threads' });
    await survives(frameWithLength(body, 10), /not JSON|not part of a message/);
  });

  test('a Content-Length of 99999999999 is rejected at once, not waited for', async () => {
    await survives(frameWithLength('{}', '99999999999'), /a message of 99999999999 bytes, over the limit of 4194304/);
  });

  test('a real frame over the size limit is rejected, and the next one read', async () => {
    const big = JSON.stringify({ seq: 6, type: 'request', command: 'evaluate', arguments: { expression: 'x'.repeat(5 * 1024 * 1024) } });
    await survives(frameWithLength(big, Buffer.byteLength(big)), /over the limit of 4194304/);
  });

  test('a header that is not a number of bytes, and bytes between frames', async () => {
    await survives(frameWithLength('{}', 'twelve'), /Content-Length is not a number of bytes/);
    await survives(`garbage before a frame ${frameWithLength(INITIALIZE, Buffer.byteLength(INITIALIZE))}`, /23 bytes that are not part of a message/);
  });

  test('a frame split into single bytes is read whole', async () => {
    const body = JSON.stringify({ seq: 300, type: 'request', command: 'threads' });
    for (const byte of frameWithLength(body, body.length)) raw.sendBytes(byte);
    assert.equal((await raw.response(300)).success, true);
  });
});

describe('the end of stdin', () => {
  test('ends the adapter with exit code 0', async () => {
    const raw = RawAdapter.start();
    try {
      await raw.request('initialize', { adapterID: 'smplab' });
      raw.child.stdin.end();
      const exit = await within(raw.exit, 'exit of the adapter after stdin closed');
      assert.deepEqual(exit, { code: 0, signal: null });
    } finally {
      raw.kill();
    }
  });
});
