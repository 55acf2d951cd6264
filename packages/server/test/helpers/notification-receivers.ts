import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertView } from '@tonypi/contracts';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers the n-th request (1-based): a status, or `hang` (never answers). */
export type Answer = (n: number) => number | 'hang';

/** An HTTP server on 127.0.0.1:0 standing in for a webhook endpoint: records every request. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Requests it holds without answering. */
  readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(answer: Answer = () => 200): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const self = receiver as WebhookReceiver;
        self.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const what = answer(self.requests.length);
        if (what === 'hang') {
          self.hanging.add(res);
          res.on('close', () => self.hanging.delete(res));
          return;
        }
        res.statusCode = what;
        res.setHeader('content-type', 'text/plain');
        res.end(what >= 300 ? `refused with ${what}` : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/hook`);
    return receiver;
  }

  /** The bodies received, parsed. */
  bodies(): Array<{ event: string; alert: AlertView; sent_at: string }> {
    return this.requests.map((r) => JSON.parse(r.body));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO). */
  rcptTo: string[];
  mailFrom: string | null;
  user: string | undefined;
  parsed: ParsedMail;
}

/** An SMTP server on 127.0.0.1:0 (plain, AUTH PLAIN/LOGIN with one account): records every mail. */
export class MailReceiver {
  readonly mails: ReceivedMail[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  /** `starttls`: offers STARTTLS with smtp-server's built-in self-signed certificate (no client can verify it). */
  static async start(
    account: { user: string; pass: string },
    opts: { starttls?: boolean } = {},
  ): Promise<MailReceiver> {
    let receiver: MailReceiver | undefined;
    const server = new SMTPServer({
      logger: false,
      disabledCommands: opts.starttls ? [] : ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === account.user && auth.password === account.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(new Error('Invalid username or password'));
        }
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            receiver?.mails.push({
              rcptTo: session.envelope.rcptTo.map((a) => a.address),
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
              user: session.user as string | undefined,
              parsed,
            });
            callback(null, 'Message queued as test-1');
          })
          .catch((err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.server.address() as AddressInfo;
    receiver = new MailReceiver(server, port);
    return receiver;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let nextAlertId = 1000;

/** An AlertView as the alert engine would publish it. */
export function alertView(over: Partial<AlertView> = {}): AlertView {
  const at = new Date().toISOString();
  return {
    id: nextAlertId++,
    robot_id: 'tonypi_01',
    alert_type: 'threshold',
    severity: 'critical',
    state: 'open',
    title: 'CPU above 90 %',
    message: 'cpu_percent is 97.5 (critical above 90)',
    rule_id: 1,
    source: 'cpu',
    value: 97.5,
    threshold: 90,
    muted: false,
    acknowledged_by: null,
    acknowledged_at: null,
    acknowledge_note: null,
    resolved_by: null,
    resolved_at: null,
    created_at: at,
    updated_at: at,
    details: null,
    ...over,
  };
}
