import { StringDecoder } from 'node:string_decoder';
import {
  type SSH_END_REASONS,
  type SshHostKey,
  TerminalClientFrame,
  type TerminalServerFrame,
} from '@tonypi/contracts';
import type { Client, ClientChannel } from 'ssh2';
import type { WebSocket } from 'ws';
import { connectSsh, type PresentedHostKey, SshFailure, type SshTarget } from './ssh-connect';

export type EndReason = (typeof SSH_END_REASONS)[number];

/** What a finished session leaves for its record. */
export interface TerminalOutcome {
  reason: EndReason;
  errorCode: string | null;
  bytesIn: number;
  bytesOut: number;
  /** What the terminal showed, capped; undefined when the settings keep no transcript. */
  transcript?: Buffer;
}

export interface TerminalBridgeOptions {
  socket: WebSocket;
  target: SshTarget;
  sessionId: string;
  cols: number;
  rows: number;
  connectTimeoutMs: number;
  /** No input and no output this long closes the session; 0 = never. */
  idleTimeoutMs: number;
  /** Keep a transcript of the output, at most this many bytes; 0 = none. */
  transcriptBytes: number;
  logger: { error(obj: object, msg: string): void };
  /** The host key was presented for the first time: pin it (before the shell opens). */
  onFirstUse: (key: PresentedHostKey) => Promise<void>;
  /** The SSH connection is up (the session's audit entry), or failed. */
  onConnected: (result: { ok: true; hostKey: PresentedHostKey } | { ok: false; failure: SshFailure }) => void;
  onEnd: (outcome: TerminalOutcome) => void;
}

/** Output waiting in the socket past this pauses the SSH channel; below LOW it flows again. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

/**
 * One browser terminal ↔ one SSH shell. The socket is open (the route checked who may, and that settings
 * exist); this connects, opens a PTY shell and relays: `input` frames to the shell, its output as `output`
 * frames (UTF-8 decoded across chunk edges), `resize` to the PTY. A slow browser pauses the channel instead of
 * buffering without bound. Ends once, with a reason, whichever side goes first.
 */
export class TerminalBridge {
  private client: Client | undefined;
  private channel: ClientChannel | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private bytesIn = 0;
  private bytesOut = 0;
  private pendingOut = 0;
  private transcript: Buffer[] = [];
  private transcriptSize = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private cols: number;
  private rows: number;

  constructor(private readonly opts: TerminalBridgeOptions) {
    this.cols = opts.cols;
    this.rows = opts.rows;
    const { socket } = opts;
    socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    socket.on('close', () => this.end('client_closed'));
    socket.on('error', () => this.end('client_closed'));
  }

  get open(): boolean {
    return !this.ended;
  }

  async start(): Promise<void> {
    const { target } = this.opts;
    this.send({
      type: 'status',
      state: 'connecting',
      session_id: this.opts.sessionId,
      host: target.host,
      port: target.port,
    });
    let connected: Awaited<ReturnType<typeof connectSsh>>;
    try {
      connected = await connectSsh(target, { timeoutMs: this.opts.connectTimeoutMs });
    } catch (err) {
      const failure = err instanceof SshFailure ? err : new SshFailure('ssh_error', String(err));
      this.opts.onConnected({ ok: false, failure });
      this.fail(failure.code, failure.message);
      return;
    }
    if (this.ended) {
      connected.client.end();
      return;
    }
    this.client = connected.client;
    this.client.on('error', (err) => this.fail('ssh_error', `The SSH connection failed: ${err.message}`));
    this.client.on('close', () => this.end('closed'));
    const hostKey: SshHostKey = { ...connected.hostKey, pinned_at: new Date().toISOString() };
    if (connected.firstUse) {
      try {
        await this.opts.onFirstUse(connected.hostKey);
      } catch (err) {
        this.opts.logger.error({ err }, 'ssh host key could not be pinned');
        this.fail('ssh_error', 'The host key could not be saved: try again');
        return;
      }
    }
    this.opts.onConnected({ ok: true, hostKey: connected.hostKey });
    this.client.shell({ term: 'xterm-256color', cols: this.cols, rows: this.rows }, (err, channel) => {
      if (this.ended) {
        channel?.close();
        return;
      }
      if (err) {
        this.fail('ssh_error', `The robot refused a shell: ${err.message}`);
        return;
      }
      this.channel = channel;
      channel.on('data', (chunk: Buffer) => this.output(chunk));
      channel.stderr.on('data', (chunk: Buffer) => this.output(chunk));
      channel.on('exit', (code: number | null, signal?: string) => {
        const how = signal ? `signal ${signal}` : `code ${code ?? '?'}`;
        this.end('exited', `The shell exited (${how})`);
      });
      channel.on('close', () => this.end('exited', 'The shell closed'));
      this.send({
        type: 'status',
        state: 'connected',
        session_id: this.opts.sessionId,
        host: target.host,
        port: target.port,
        host_key: hostKey,
        first_use: connected.firstUse,
      });
      this.touch();
    });
  }

  /** Ends the session from the server's side (idle, the user's session ended, shutdown). */
  end(reason: EndReason, message?: string, errorCode: string | null = null): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    const tail = this.decoder.end();
    if (tail) this.send({ type: 'output', data: tail });
    if (reason !== 'client_closed') {
      this.send({ type: 'status', state: 'closed', session_id: this.opts.sessionId, reason, message });
      this.opts.socket.close(reason === 'session_ended' ? 4401 : 1000, reason);
    }
    this.channel?.close();
    this.client?.end();
    this.opts.onEnd({
      reason,
      errorCode,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      transcript: this.opts.transcriptBytes > 0 ? Buffer.concat(this.transcript) : undefined,
    });
  }

  /** An error frame, then the end. */
  fail(code: string, message: string): void {
    if (this.ended) return;
    this.send({ type: 'error', code, message } as TerminalServerFrame);
    this.end(code === 'unauthorized' ? 'session_ended' : 'error', message, code);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    let frame: TerminalClientFrame;
    try {
      if (isBinary) throw new Error('binary');
      const parsed = TerminalClientFrame.safeParse(JSON.parse(data.toString('utf8')));
      if (!parsed.success)
        throw new Error(
          parsed.error.issues.map((i) => `${i.path.join('.') || 'frame'}: ${i.message}`).join('; '),
        );
      frame = parsed.data;
    } catch (err) {
      // A bad frame is answered, not fatal: the terminal stays open.
      const why = (err as Error).message === 'binary' ? 'frames are JSON text' : (err as Error).message;
      this.send({
        type: 'error',
        code: 'bad_frame',
        message: `Frame refused (${why.slice(0, 200)}): send {"type":"input","data":"…"} or {"type":"resize","cols":80,"rows":24}`,
      });
      return;
    }
    if (frame.type === 'resize') {
      this.cols = frame.cols;
      this.rows = frame.rows;
      this.channel?.setWindow(frame.rows, frame.cols, 0, 0);
      return;
    }
    if (!this.channel) return; // typed before the shell opened: dropped, as a terminal does before login
    const bytes = Buffer.from(frame.data, 'utf8');
    this.bytesIn += bytes.length;
    this.touch();
    if (!this.channel.write(bytes)) {
      // The robot reads slower than the browser types (a huge paste): stop reading the socket until it drains.
      this.opts.socket.pause();
      this.channel.once('drain', () => this.opts.socket.resume());
    }
  }

  private output(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    this.touch();
    if (this.opts.transcriptBytes > this.transcriptSize) {
      const part = chunk.subarray(0, this.opts.transcriptBytes - this.transcriptSize);
      this.transcript.push(part);
      this.transcriptSize += part.length;
    }
    const text = this.decoder.write(chunk);
    if (text) this.send({ type: 'output', data: text });
    if (this.pendingOut > HIGH_WATER && this.channel && !this.channel.isPaused()) this.channel.pause();
  }

  private send(frame: TerminalServerFrame): void {
    const { socket } = this.opts;
    if (socket.readyState !== socket.OPEN) return;
    const text = JSON.stringify(frame);
    this.pendingOut += text.length;
    socket.send(text, () => {
      this.pendingOut -= text.length;
      if (this.pendingOut < LOW_WATER && this.channel?.isPaused()) this.channel.resume();
    });
  }

  private touch(): void {
    if (this.opts.idleTimeoutMs <= 0 || this.ended) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const minutes = Math.round(this.opts.idleTimeoutMs / 60_000);
      this.end(
        'idle_timeout',
        `Closed after ${minutes >= 1 ? `${minutes} min` : `${Math.round(this.opts.idleTimeoutMs / 1000)} s`} without input or output`,
      );
    }, this.opts.idleTimeoutMs);
    this.idleTimer.unref?.();
  }
}
