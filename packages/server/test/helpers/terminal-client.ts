import { WebSocket } from 'ws';
import { type TestServer, waitFor } from './test-server';

export type Frame = { type: string; [k: string]: unknown };

/** A terminal client: every frame kept, the output joined. */
export class Term {
  readonly frames: Frame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.frames.push(JSON.parse(d.toString())));
    ws.on('close', (code, reason) => {
      this.closedWith = { code, reason: reason.toString() };
    });
  }
  get output(): string {
    return this.frames
      .filter((f) => f.type === 'output')
      .map((f) => f.data)
      .join('');
  }
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  type(text: string): void {
    this.send({ type: 'input', data: text });
  }
  next(type: string, pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    return waitFor(
      () => this.frames.find((f) => f.type === type && pred(f)),
      timeoutMs,
      `terminal frame ${type}`,
    );
  }
  waitOutput(text: string, timeoutMs = 5000): Promise<unknown> {
    return waitFor(() => this.output.includes(text), timeoutMs, `output "${text}"`);
  }
  closed(timeoutMs = 5000) {
    return waitFor(() => this.closedWith, timeoutMs, 'terminal closed');
  }
}

const terminalUrl = (id: string, query = '', server: TestServer) =>
  `${server.url.replace(/^http/, 'ws')}/api/v1/robots/${id}/terminal${query}`;

/** Opens a terminal; a refused upgrade resolves with its status and body instead. */
export function openTerminal(
  id: string,
  opts: { token?: string; query?: string; server: TestServer; sockets?: WebSocket[] },
): Promise<Term | { status: number; body: { error: { code: string; message: string } } }> {
  const server = opts.server;
  const ws = new WebSocket(terminalUrl(id, opts.query, server), {
    headers: { authorization: `Bearer ${opts.token ?? server.token}` },
  });
  opts.sockets?.push(ws);
  const term = new Term(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(term));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

export async function connected(id: string, opts: Parameters<typeof openTerminal>[1]): Promise<Term> {
  const term = await openTerminal(id, opts);
  if (!(term instanceof Term)) throw new Error(`terminal refused: ${JSON.stringify(term)}`);
  await term.next('status', (f) => f.state === 'connected' || f.state === 'closed');
  return term;
}
