/**
 * One HTTP request and its whole answer, over node:http/https. Redirects are not followed here:
 * the recipe engine follows them itself so its cookie jar sees every hop.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly location?: string;
  readonly setCookies: readonly string[];
  readonly body: string;
}

export interface HttpRequestInit {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Accept any certificate (a NAS with a self-signed one). */
  readonly insecure: boolean;
  readonly signal: AbortSignal;
}

/** A NAS admin page is a few kB; more than this is not the page a recipe was written for. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

export class BodyTooLargeError extends Error {}

export function httpRequest(url: URL, init: HttpRequestInit): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (init.signal.aborted) {
      reject(init.signal.reason);
      return;
    }
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const options: https.RequestOptions = { method: init.method, headers };
    if (url.protocol === 'https:') options.rejectUnauthorized = !init.insecure;
    const transport = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      init.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy();
          finish(() => reject(new BodyTooLargeError(`the answer is larger than ${MAX_BODY_BYTES} bytes`)));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const setCookie = res.headers['set-cookie'] ?? [];
        const answer: HttpAnswer = {
          status: res.statusCode ?? 0,
          setCookies: setCookie,
          body: decodeBody(Buffer.concat(chunks), res.headers['content-type']),
          ...(res.headers.location !== undefined ? { location: res.headers.location } : {}),
        };
        finish(() => resolve(answer));
      });
      res.on('error', (err) => finish(() => reject(err)));
    });
    const onAbort = (): void => {
      req.destroy();
      finish(() => reject(init.signal.reason));
    };
    init.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(() => reject(err)));
    req.end(init.body);
  });
}

/** Decodes by the declared charset (Japanese NAS pages are often Shift_JIS or EUC-JP); latin1 keeps unknown bytes intact. */
function decodeBody(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8', { fatal: charset === undefined }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
