import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReportDocument } from '@tonypi/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { GeminiProvider, OpenAiCompatibleProvider, ReportInsights } from './ai-insights';

const KEY = 'sk-test-secret-key-1234567890';

const doc: ReportDocument = {
  title: 'Servo maintenance: tonypi_01',
  kind: 'servo_maintenance',
  scope: { robot_id: 'tonypi_01', tag: null, robots: ['tonypi_01'] },
  from: '2026-11-26T00:00:00.000Z',
  to: '2026-12-03T00:00:00.000Z',
  generated_at: '2026-12-03T00:00:00.000Z',
  summary: [
    {
      text: 'Servo 3 was above the 60 °C warning level for 2 h 30 min',
      figure: 9000,
      unit: 's',
      from: '2026-11-26T00:00:00.000Z',
      to: '2026-12-03T00:00:00.000Z',
      robot_id: 'tonypi_01',
      severity: 'warning',
    },
  ],
  sections: [],
  ai: null,
  ai_note: null,
};

const ANSWER = {
  analysis: 'Servo 3 runs hot under load.',
  concerns: ['Servo 3 spent 2.5 h above 60 °C'],
  recommendations: [{ text: 'Inspect servo 3 and reduce its duty cycle', urgency: 'high' }],
};

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  servers = [];
});

/** A fake model server on loopback: each request gets the next handler (the last one repeats). */
async function fakeServer(
  handlers: Handler[],
): Promise<{ url: string; requests: { url: string; headers: IncomingMessage['headers']; body: string }[] }> {
  const requests: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers, body });
      const h = handlers[Math.min(requests.length - 1, handlers.length - 1)];
      h?.(req, body, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const openAiOk =
  (answer: unknown = ANSWER): Handler =>
  (_req, _body, res) =>
    json(res, 200, {
      choices: [
        {
          message: {
            role: 'assistant',
            content: typeof answer === 'string' ? answer : JSON.stringify(answer),
          },
        },
      ],
      usage: { prompt_tokens: 812, completion_tokens: 64 },
    });
const geminiOk =
  (answer: unknown = ANSWER): Handler =>
  (_req, _body, res) =>
    json(res, 200, {
      candidates: [
        {
          content: {
            role: 'model',
            parts: [{ text: typeof answer === 'string' ? answer : JSON.stringify(answer) }],
          },
          finishReason: 'STOP',
        },
      ],
      usageMetadata: { promptTokenCount: 900, candidatesTokenCount: 70, totalTokenCount: 970 },
    });
const status =
  (code: number, headers: Record<string, string> = {}): Handler =>
  (_req, _body, res) =>
    json(res, code, { error: { message: `rate limited for key ${KEY}`, code } }, headers);

const noWait = { attempts: 3, sleep: async () => undefined };
const signal = () => new AbortController().signal;

describe('OpenAI-compatible provider', () => {
  it('sends the figures with a JSON schema and returns validated insights with token counts', async () => {
    const fake = await fakeServer([openAiOk()]);
    const insights = new ReportInsights(
      new OpenAiCompatibleProvider({
        baseUrl: `${fake.url}/v1`,
        apiKey: KEY,
        model: 'llama-3.1-8b',
        timeoutMs: 5000,
      }),
      noWait,
    );
    const out = await insights.insights(doc, signal());
    expect(out).toEqual({
      ai: { provider: 'openai_compatible', model: 'llama-3.1-8b', ...ANSWER },
      tokens_in: 812,
      tokens_out: 64,
    });
    const req = fake.requests[0];
    expect(req?.url).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    const body = JSON.parse(req?.body ?? '{}');
    expect(body.model).toBe('llama-3.1-8b');
    expect(body.response_format.type).toBe('json_schema');
    expect(body.messages[1].content).toContain('Servo 3 was above the 60 °C warning level');
    expect(insights.status()).toMatchObject({
      provider: 'openai_compatible',
      model: 'llama-3.1-8b',
      last_call: { ok: true },
    });
  });

  it('retries a 429 (honouring Retry-After) and a 500, then succeeds', async () => {
    const fake = await fakeServer([status(429, { 'retry-after': '1' }), status(500), openAiOk()]);
    const waits: number[] = [];
    const insights = new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: fake.url, model: 'm', timeoutMs: 5000 }),
      { attempts: 3, sleep: async (ms) => void waits.push(ms), baseDelayMs: 100 },
    );
    const out = await insights.insights(doc, signal());
    expect('ai' in out).toBe(true);
    expect(fake.requests).toHaveLength(3);
    expect(waits).toEqual([1000, 200]);
  });

  it('asks again once when the answer is not the schema, then says the AI section failed and why', async () => {
    const fixed = await fakeServer([openAiOk('{"analysis": 3}'), openAiOk()]);
    const once = await new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: fixed.url, model: 'm', timeoutMs: 5000 }),
      noWait,
    ).insights(doc, signal());
    expect('ai' in once).toBe(true);
    expect(fixed.requests).toHaveLength(2);

    const broken = await fakeServer([openAiOk('Sure! Here are my thoughts: servo 3 is hot.')]);
    const out = await new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: broken.url, model: 'm', timeoutMs: 5000 }),
      noWait,
    ).insights(doc, signal());
    expect(out).toEqual({ error: expect.stringContaining('did not match the schema') });
    expect(broken.requests).toHaveLength(2);
  });

  it('gives up on a server that never answers, in its timeout, and on one that is not there', async () => {
    const silent = await fakeServer([() => undefined]);
    const t0 = performance.now();
    const out = await new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: silent.url, model: 'm', timeoutMs: 300 }),
      { attempts: 2, sleep: async () => undefined },
    ).insights(doc, signal());
    expect(out).toEqual({ error: 'no answer within 0 s' });
    expect(silent.requests).toHaveLength(2);
    expect(performance.now() - t0).toBeLessThan(5000);

    const gone = await new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: 'http://127.0.0.1:9', model: 'm', timeoutMs: 2000 }),
      { attempts: 1 },
    ).insights(doc, signal());
    expect(gone).toEqual({ error: 'cannot reach 127.0.0.1:9' });
  });

  it('never lets the key into the error it reports', async () => {
    const fake = await fakeServer([status(401)]);
    const out = await new ReportInsights(
      new OpenAiCompatibleProvider({ baseUrl: fake.url, apiKey: KEY, model: 'm', timeoutMs: 5000 }),
      noWait,
    ).insights(doc, signal());
    expect(JSON.stringify(out)).toContain('401');
    expect(JSON.stringify(out)).not.toContain(KEY);
  });
});

describe('Gemini provider', () => {
  it('calls generateContent with the schema and returns validated insights with token counts', async () => {
    const fake = await fakeServer([geminiOk()]);
    const insights = new ReportInsights(
      new GeminiProvider({ apiKey: KEY, model: 'gemini-2.5-flash', timeoutMs: 5000, baseUrl: fake.url }),
      noWait,
    );
    const out = await insights.insights(doc, signal());
    expect(out).toEqual({
      ai: { provider: 'gemini', model: 'gemini-2.5-flash', ...ANSWER },
      tokens_in: 900,
      tokens_out: 70,
    });
    const req = fake.requests[0];
    expect(req?.url).toMatch(/models\/gemini-2\.5-flash:generateContent/);
    expect(req?.headers['x-goog-api-key']).toBe(KEY);
    const body = JSON.parse(req?.body ?? '{}');
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    expect(JSON.stringify(body.contents)).toContain('Servo 3 was above');
  });

  it('retries a 429, and reports an invalid answer and a 400 plainly, without the key', async () => {
    const flaky = await fakeServer([status(429), geminiOk()]);
    const ok = await new ReportInsights(
      new GeminiProvider({ apiKey: KEY, model: 'g', timeoutMs: 5000, baseUrl: flaky.url }),
      noWait,
    ).insights(doc, signal());
    expect('ai' in ok).toBe(true);
    expect(flaky.requests).toHaveLength(2);

    const invalid = await fakeServer([geminiOk('not json at all')]);
    const bad = await new ReportInsights(
      new GeminiProvider({ apiKey: KEY, model: 'g', timeoutMs: 5000, baseUrl: invalid.url }),
      noWait,
    ).insights(doc, signal());
    expect(bad).toEqual({ error: expect.stringContaining('did not match the schema') });

    const refused = await fakeServer([status(400)]);
    const no = await new ReportInsights(
      new GeminiProvider({ apiKey: KEY, model: 'g', timeoutMs: 5000, baseUrl: refused.url }),
      noWait,
    ).insights(doc, signal());
    expect(JSON.stringify(no)).toContain('400');
    expect(JSON.stringify(no)).not.toContain(KEY);
    expect(refused.requests).toHaveLength(1); // a 400 is not retried
  });

  it('gives up on a slow Gemini within its timeout', async () => {
    const slow = await fakeServer([() => undefined]);
    const out = await new ReportInsights(
      new GeminiProvider({ apiKey: KEY, model: 'g', timeoutMs: 300, baseUrl: slow.url }),
      { attempts: 1 },
    ).insights(doc, signal());
    expect('error' in out).toBe(true);
  });
});

describe('without a provider', () => {
  it('says no provider is configured, and calls nothing', async () => {
    const insights = new ReportInsights(undefined);
    expect(await insights.insights(doc, signal())).toEqual({ error: 'no provider configured' });
    expect(insights.status()).toEqual({ provider: null, model: null, last_call: null });
  });
});
