// Reading a JSON request body: content type (415), size (413), syntax (400), schema (400
// with the offending field paths). The raw bytes are kept for signature checks.
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { HttpProblem, type FieldError } from './problem.js';

export interface BodyOptions {
  bytesMax: number;
}

export async function readRawBody(ctx: Context, options: BodyOptions): Promise<Buffer> {
  const contentType = ctx.request.type;
  const declaredLength = ctx.request.length;
  if (declaredLength !== undefined && declaredLength > options.bytesMax) {
    throw new HttpProblem('payload-too-large', `the body is ${declaredLength} bytes; the limit is ${options.bytesMax} (BODY_BYTES_MAX)`);
  }
  if (contentType !== 'application/json') {
    throw new HttpProblem('unsupported-media-type', `send the body as application/json (got ${contentType || 'no Content-Type'})`);
  }
  try {
    return await getRawBody(ctx.req, { limit: options.bytesMax, length: ctx.request.length });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      throw new HttpProblem('payload-too-large', `the body is larger than the limit of ${options.bytesMax} bytes (BODY_BYTES_MAX)`);
    }
    throw new HttpProblem('invalid-request', `the body could not be read: ${(error as Error).message}`);
  }
}

export function parseJson(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw new HttpProblem('malformed-json', 'the body is empty; a JSON object is expected');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpProblem('malformed-json', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
  const summary = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
  throw new HttpProblem('invalid-request', `${what} is invalid: ${summary}`, { errors });
}

export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, options: BodyOptions, what = 'the body'): Promise<{ value: z.infer<S>; raw: Buffer }> {
  // A signed request's body was read already, to check its digest.
  const raw = (ctx.state.rawBody as Buffer | undefined) ?? (await readRawBody(ctx, options));
  return { value: validate(schema, parseJson(raw), what), raw };
}
