import { GoogleGenAI } from '@google/genai';
import type { ReportAiInsights, ReportDocument } from '@tonypi/contracts';
import { z } from 'zod';

/**
 * AI insights for a report (issue #10 §3): the model gets the report's computed figures — never raw rows — and
 * a structured prompt per kind, and must answer in a JSON schema that is validated here. Two providers: Google
 * Gemini (`@google/genai`) and any OpenAI-compatible chat endpoint (llama.cpp, Ollama, vLLM, a hosted one).
 * Nothing is called at start-up; the key never reaches a log, an error message or the API.
 */

export interface AiAnswer {
  text: string;
  tokens_in: number | null;
  tokens_out: number | null;
}

export interface AiProvider {
  /** `gemini` or `openai_compatible`. */
  readonly name: string;
  readonly model: string;
  complete(
    prompt: { system: string; user: string; schema: Record<string, unknown> },
    signal: AbortSignal,
  ): Promise<AiAnswer>;
}

/** What the model must answer: the original's three sections, recommendations with an urgency. */
export const AiAnswerSchema = z
  .object({
    analysis: z.string().min(1).max(4000),
    concerns: z.array(z.string().min(1).max(500)).max(12),
    recommendations: z
      .array(
        z.object({ text: z.string().min(1).max(500), urgency: z.enum(['low', 'medium', 'high']) }).strict(),
      )
      .max(12),
  })
  .strict();

export const AI_ANSWER_JSON_SCHEMA: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['analysis', 'concerns', 'recommendations'],
  properties: {
    analysis: { type: 'string', description: 'What the figures say, in plain words, 2–6 sentences' },
    concerns: {
      type: 'array',
      items: { type: 'string' },
      description: 'What needs attention, most important first',
    },
    recommendations: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['text', 'urgency'],
        properties: {
          text: { type: 'string' },
          urgency: { type: 'string', enum: ['low', 'medium', 'high'] },
        },
      },
    },
  },
};

const FOCUS: Record<ReportDocument['kind'], string> = {
  fleet_summary: 'the fleet as a whole: availability, load, batteries, servos, jobs and incidents',
  performance: 'CPU, memory, disk and temperature: sustained load, trends and anomalies',
  battery: 'battery health: discharge rates, charge cycles and the time left before a critical level',
  servo_maintenance:
    'servo wear and overheating: which servos to service first (high urgency for those above the critical level)',
  jobs: 'jobs and productivity: success rate, durations, items per hour, what makes jobs fail',
  alerts: 'alerts and incidents: what cost the most time, what repeats, what to change',
  custom: 'the sections included',
};

/** The figures of a report, without its charts' points: what the model reads. */
export function promptOf(doc: ReportDocument): { system: string; user: string } {
  const figures = {
    title: doc.title,
    kind: doc.kind,
    period: { from: doc.from, to: doc.to },
    robots: doc.scope.robots.length,
    summary: doc.summary.map((s) => s.text),
    sections: doc.sections.map((s) => ({
      title: s.title,
      statements: s.statements.map((x) => x.text),
      tables: s.tables.map((t) => ({
        title: t.title,
        columns: t.columns.map((c) => c.label),
        rows: t.rows.slice(0, 50),
      })),
    })),
  };
  return {
    system:
      'You are a maintenance engineer for a fleet of HiWonder TonyPi humanoid robots. You read the figures of a ' +
      'report and write insights for the operators. Use only the figures given; do not invent values. Answer ' +
      'with JSON only, matching the schema: analysis (a short paragraph), concerns (strings), recommendations ' +
      '(objects with text and urgency low|medium|high).',
    user: `Focus on ${FOCUS[doc.kind]}.\n\nThe report's figures as JSON:\n${JSON.stringify(figures).slice(0, 60_000)}`,
  };
}

export class AiCallError extends Error {
  constructor(
    message: string,
    /** Worth another attempt (429, 5xx, a timeout, a dropped connection). */
    readonly transient: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AiCallError';
  }
}

/** Words safe to show: a provider's error text, with anything key-like and the key itself removed. */
export function scrubKey(text: string, key: string | undefined): string {
  let out = text;
  if (key) out = out.split(key).join('[key]');
  return out
    .replace(/([?&]key=)[^&\s]+/gi, '$1[key]')
    .replace(/(Bearer\s+)\S+/gi, '$1[key]')
    .slice(0, 300);
}

export interface OpenAiCompatibleOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
}

/** Any OpenAI-compatible chat endpoint: `POST {base}/chat/completions` with a JSON-schema response format. */
export class OpenAiCompatibleProvider implements AiProvider {
  readonly name = 'openai_compatible';
  readonly model: string;
  constructor(private readonly opts: OpenAiCompatibleOptions) {
    this.model = opts.model;
  }

  async complete(
    prompt: { system: string; user: string; schema: Record<string, unknown> },
    signal: AbortSignal,
  ): Promise<AiAnswer> {
    const url = `${this.opts.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.opts.model,
          messages: [
            { role: 'system', content: prompt.system },
            { role: 'user', content: prompt.user },
          ],
          temperature: 0.2,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'report_insights', strict: true, schema: prompt.schema },
          },
        }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs)]),
      });
    } catch (err) {
      const e = err as Error;
      if (signal.aborted) throw err;
      const timeout = e.name === 'TimeoutError';
      throw new AiCallError(
        timeout
          ? `no answer within ${Math.round(this.opts.timeoutMs / 1000)} s`
          : `cannot reach ${new URL(url).host}`,
        true,
      );
    }
    const body = await res.text();
    if (!res.ok) {
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new AiCallError(
        `the model's server answered ${res.status}: ${scrubKey(body, this.opts.apiKey)}`,
        res.status === 429 || res.status >= 500,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    let parsed: {
      choices?: { message?: { content?: string } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new AiCallError('the model’s server answered something that is not JSON', false);
    }
    const text = parsed.choices?.[0]?.message?.content;
    if (typeof text !== 'string') throw new AiCallError('the answer has no message content', false);
    return {
      text,
      tokens_in: parsed.usage?.prompt_tokens ?? null,
      tokens_out: parsed.usage?.completion_tokens ?? null,
    };
  }
}

export interface GeminiOptions {
  apiKey: string;
  model: string;
  timeoutMs: number;
  /** Another endpoint (a proxy, or a test's fake server); the SDK's default otherwise. */
  baseUrl?: string;
}

/** Google Gemini through `@google/genai`, answering JSON in the schema. */
export class GeminiProvider implements AiProvider {
  readonly name = 'gemini';
  readonly model: string;
  private readonly client: GoogleGenAI;
  constructor(private readonly opts: GeminiOptions) {
    this.model = opts.model;
    this.client = new GoogleGenAI({
      apiKey: opts.apiKey,
      httpOptions: {
        timeout: opts.timeoutMs,
        // Retries are ours (with the report's own deadline): one attempt per call here.
        retryOptions: { attempts: 1 },
        ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      },
    });
  }

  async complete(
    prompt: { system: string; user: string; schema: Record<string, unknown> },
    signal: AbortSignal,
  ): Promise<AiAnswer> {
    try {
      const res = await this.client.models.generateContent({
        model: this.opts.model,
        contents: prompt.user,
        config: {
          systemInstruction: prompt.system,
          responseMimeType: 'application/json',
          responseJsonSchema: prompt.schema,
          temperature: 0.2,
          abortSignal: signal,
        },
      });
      const text = res.text;
      if (typeof text !== 'string' || text === '') throw new AiCallError('the answer has no text', false);
      return {
        text,
        tokens_in: res.usageMetadata?.promptTokenCount ?? null,
        tokens_out: res.usageMetadata?.candidatesTokenCount ?? null,
      };
    } catch (err) {
      if (err instanceof AiCallError || signal.aborted) throw err;
      const e = err as Error & { status?: number };
      const status = typeof e.status === 'number' ? e.status : undefined;
      const timeout = /timed? ?out|aborted/i.test(e.message) || e.name === 'AbortError';
      throw new AiCallError(
        status
          ? `Gemini answered ${status}: ${scrubKey(e.message, this.opts.apiKey)}`
          : timeout
            ? `no answer within ${Math.round(this.opts.timeoutMs / 1000)} s`
            : `Gemini call failed: ${scrubKey(e.message, this.opts.apiKey)}`,
        status === undefined ? true : status === 429 || status >= 500,
      );
    }
  }
}

export interface AiStatus {
  provider: string | null;
  model: string | null;
  last_call: { at: string; ok: boolean; ms: number; error: string | null } | null;
}

/**
 * Asks the provider for a report's insights: transient failures retried with backoff (at most `attempts`), an
 * answer that is not the schema's JSON asked again once, then given up with the reason in plain words.
 */
export class ReportInsights {
  private last: AiStatus['last_call'] = null;
  constructor(
    readonly provider: AiProvider | undefined,
    private readonly opts: {
      attempts?: number;
      baseDelayMs?: number;
      sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    } = {},
  ) {}

  status(): AiStatus {
    return {
      provider: this.provider?.name ?? null,
      model: this.provider?.model ?? null,
      last_call: this.last,
    };
  }

  async insights(
    doc: ReportDocument,
    signal: AbortSignal,
  ): Promise<
    { ai: ReportAiInsights; tokens_in: number | null; tokens_out: number | null } | { error: string }
  > {
    const provider = this.provider;
    if (!provider) return { error: 'no provider configured' };
    const prompt = { ...promptOf(doc), schema: AI_ANSWER_JSON_SCHEMA };
    const attempts = this.opts.attempts ?? 3;
    const sleep =
      this.opts.sleep ??
      ((ms: number, s: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          s.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              reject(s.reason);
            },
            { once: true },
          );
        }));
    let tokensIn = 0;
    let tokensOut = 0;
    let invalidOnce = false;
    const started = performance.now();
    let lastError = 'no answer';
    for (let attempt = 1; attempt <= attempts + 1; attempt++) {
      signal.throwIfAborted();
      try {
        const answer = await provider.complete(prompt, signal);
        tokensIn += answer.tokens_in ?? 0;
        tokensOut += answer.tokens_out ?? 0;
        const parsed = AiAnswerSchema.safeParse(safeJson(answer.text));
        if (!parsed.success) {
          lastError = `the model's answer did not match the schema (${parsed.error.issues[0]?.path.join('.') || 'answer'}: ${parsed.error.issues[0]?.message ?? 'invalid'})`;
          if (invalidOnce) break;
          invalidOnce = true;
          continue;
        }
        this.last = {
          at: new Date().toISOString(),
          ok: true,
          ms: Math.round(performance.now() - started),
          error: null,
        };
        return {
          ai: { provider: provider.name, model: provider.model, ...parsed.data },
          tokens_in: tokensIn || null,
          tokens_out: tokensOut || null,
        };
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const e =
          err instanceof AiCallError ? err : new AiCallError(String((err as Error)?.message ?? err), false);
        lastError = e.message;
        if (!e.transient || attempt >= attempts) break;
        const backoff = e.retryAfterMs ?? (this.opts.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
        await sleep(Math.min(backoff, 30_000), signal);
      }
    }
    this.last = {
      at: new Date().toISOString(),
      ok: false,
      ms: Math.round(performance.now() - started),
      error: lastError,
    };
    return { error: lastError };
  }
}

function safeJson(text: string): unknown {
  // Some models wrap JSON in a code fence even when asked not to.
  const bare = text
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  try {
    return JSON.parse(bare);
  } catch {
    return undefined;
  }
}
