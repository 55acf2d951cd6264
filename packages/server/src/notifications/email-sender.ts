import type { AlertView } from '@tonypi/contracts';
import { createTransport } from 'nodemailer';
import { type AttemptOutcome, clipText, describeFailure } from './attempt';
import type { EmailTarget } from './channels';
import type { ReportNotice } from './notifier';

export interface AlertMail {
  subject: string;
  text: string;
  html: string;
  attachments?: { filename: string; content: Buffer; contentType: string }[];
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** One line, bounded: a title is free text (a rule's name), a subject must stay one header line. */
const oneLine = (s: string, max: number) => clipText(s.replace(/[\r\n\t]+/g, ' ').trim(), max);

/**
 * A short mail for one alert change: the subject says severity, robot and title
 * (`[CRITICAL] tonypi_01: CPU above 90 % (raised)`), the body what, where, when.
 */
export function composeAlertMail(what: string, alert: AlertView): AlertMail {
  const where = alert.robot_id ?? 'fleet';
  const subject = oneLine(`[${alert.severity.toUpperCase()}] ${where}: ${alert.title} (${what})`, 200);
  const rows: Array<[string, string]> = [
    ['Change', what],
    ['Severity', alert.severity],
    ['State', alert.state],
    ['Robot', where],
    ['Type', alert.alert_type],
  ];
  if (alert.source) rows.push(['Source', alert.source]);
  if (alert.value !== null) rows.push(['Value', String(alert.value)]);
  if (alert.threshold !== null) rows.push(['Threshold', String(alert.threshold)]);
  rows.push(['Raised at', alert.created_at], ['Updated at', alert.updated_at]);
  if (alert.acknowledged_by) rows.push(['Acknowledged by', alert.acknowledged_by]);
  if (alert.resolved_at) rows.push(['Resolved at', alert.resolved_at]);
  rows.push(['Alert id', String(alert.id)]);
  const text = [
    alert.title,
    '',
    alert.message,
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    '',
    '-- TonyPi Fleet Monitor',
    '',
  ].join('\n');
  const html =
    `<p><strong>${escapeHtml(alert.title)}</strong></p><p>${escapeHtml(alert.message)}</p>` +
    `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>` +
    '<p style="color:#666">TonyPi Fleet Monitor</p>';
  return { subject, text, html };
}

/**
 * A scheduled report's mail: the subject names the schedule and the period, the body the summary, the PDF is
 * attached (a failed run says why instead).
 */
export function composeReportMail(r: ReportNotice): AlertMail {
  const period = `${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}`;
  const subject = oneLine(
    r.status === 'completed' ? `[REPORT] ${r.title} (${period})` : `[REPORT FAILED] ${r.title} (${period})`,
    200,
  );
  const rows: Array<[string, string]> = [
    ['Schedule', r.schedule_name],
    ['Kind', r.kind],
    ['Period', `${r.from} to ${r.to}`],
    ['Report id', String(r.report_id)],
  ];
  const lead =
    r.status === 'completed'
      ? r.pdf
        ? 'The report is attached as a PDF.'
        : 'The report is ready in the app.'
      : `The report could not be made: ${r.error ?? 'no reason recorded'}`;
  const text = [
    r.title,
    '',
    lead,
    '',
    ...(r.summary.length > 0 ? ['Summary:', ...r.summary.map((s) => `- ${s}`), ''] : []),
    ...rows.map(([k, v]) => `${k}: ${v}`),
    '',
    '-- TonyPi Fleet Monitor',
    '',
  ].join('\n');
  const html =
    `<p><strong>${escapeHtml(r.title)}</strong></p><p>${escapeHtml(lead)}</p>` +
    (r.summary.length > 0
      ? `<p>Summary:</p><ul>${r.summary.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>`
      : '') +
    `<table>${rows.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>` +
    '<p style="color:#666">TonyPi Fleet Monitor</p>';
  return {
    subject,
    text,
    html,
    ...(r.pdf
      ? {
          attachments: [{ filename: r.pdf.fileName, content: r.pdf.content, contentType: 'application/pdf' }],
        }
      : {}),
  };
}

/** SMTP reply codes: 5xx is a refusal for good (but 503, a bad sequence), 4xx a transient one. */
const permanent = (code: number) => code >= 500 && code !== 503;

/**
 * One SMTP send (a connection per send: alert mail is rare, and a pooled connection would outlive a changed
 * channel), within `timeoutMs` per stage and until `signal` aborts.
 */
export async function sendAlertMail(
  target: EmailTarget,
  mail: AlertMail,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<AttemptOutcome> {
  const started = performance.now();
  const signal = opts.signal
    ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal])
    : AbortSignal.timeout(opts.timeoutMs);
  const took = () => Math.round(performance.now() - started);
  const transport = createTransport({
    host: target.host,
    port: target.port,
    secure: target.security === 'tls',
    requireTLS: target.security === 'starttls',
    ignoreTLS: target.security === 'none',
    auth: target.username !== undefined ? { user: target.username, pass: target.password ?? '' } : undefined,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    dnsTimeout: opts.timeoutMs,
    socketCloseTimeout: 0,
    logger: false,
    debug: false,
  });
  try {
    const info = await transport.sendMail({
      from: target.from,
      to: target.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      ...(mail.attachments ? { attachments: mail.attachments } : {}),
      signal,
    });
    const code = Number.parseInt(info.response, 10);
    return {
      ok: true,
      retryable: false,
      code: Number.isFinite(code) ? code : null,
      response: clipText(info.response),
      error: null,
      durationMs: took(),
    };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; code?: string };
    const code = typeof e.responseCode === 'number' ? e.responseCode : null;
    return {
      ok: false,
      // Wrong credentials (EAUTH) or a refusal for good come back the same next time.
      retryable: !opts.signal?.aborted && e.code !== 'EAUTH' && !(code !== null && permanent(code)),
      code,
      response: e.response ? clipText(e.response) : null,
      error: describeFailure(err, signal, opts.timeoutMs),
      durationMs: took(),
    };
  } finally {
    transport.close();
  }
}
