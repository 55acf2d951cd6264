import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.connect(port, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', () => resolve(true));
  });

describe('a request that arrives while the server shuts down', () => {
  it('gets 503 service_unavailable in the error envelope, even on a route whose 503 is another shape', async () => {
    const port = Number(new URL(t.url).port);
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    // A request in flight (its body not sent yet) keeps this connection open through the close.
    const body = JSON.stringify({ username: 'admin', password: 'not-the-password' });
    socket.write(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await waitFor(() => data.includes('100 Continue'), 5000, 'the server to take the request');
    const closing = t.server.http.close();
    // The listener goes away after the preClose hooks: from then on the server is closing.
    await waitFor(() => refused(port), 5000, 'the listener to close');
    socket.write(`${body}GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((resolve) => socket.once('close', resolve));
    await closing;

    const answers = data.split(/(?=HTTP\/1\.1 )/).filter((a) => !a.startsWith('HTTP/1.1 100'));
    expect(answers.map((a) => a.split(' ')[1])).toEqual(['401', '503']);
    expect(JSON.parse(answers[1]?.split('\r\n\r\n')[1] ?? '')).toEqual({
      error: { code: 'service_unavailable', message: 'The server is shutting down: try again shortly' },
    });
  });
});
