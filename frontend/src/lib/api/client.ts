/**
 * The one way the UI talks to the API: `openapi-fetch` typed by the generated
 * `schema.d.ts`, same-origin cookies, the CSRF header on unsafe methods, and every
 * failure turned into an `ApiError`.
 *
 *   const me = await call(api.GET('/api/v1/me'));
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';
import { applyCsrf } from './csrf';
import { ApiError, parseApiError, toApiError } from './errors';

export { ApiError } from './errors';

export type Api = Client<paths>;

export interface ApiOptions {
	/** Prefix for every path; empty means "this origin". */
	baseUrl?: string;
	fetch?: (request: Request) => Promise<Response>;
	/** Where to read cookies from (defaults to `document.cookie`). */
	cookies?: () => string;
}

function documentCookies(): string {
	return typeof document === 'undefined' ? '' : document.cookie;
}

export function createApi(options: ApiOptions = {}): Api {
	const cookies = options.cookies ?? documentCookies;
	const client = createClient<paths>({
		baseUrl: options.baseUrl ?? '',
		credentials: 'same-origin',
		// Look fetch up at call time so tests and the browser both see the current one.
		fetch: options.fetch ?? ((request: Request) => globalThis.fetch(request))
	});
	client.use({
		onRequest({ request }) {
			applyCsrf(request.method, request.headers, cookies());
			return request;
		}
	});
	return client;
}

export const api: Api = createApi();

type Outcome<D> = { data?: D; error?: unknown; response: Response };

type UnauthenticatedHandler = (error: ApiError) => void;
let onUnauthenticated: UnauthenticatedHandler | null = null;

/** Called for every 401 that `call` sees unless the call opts out (the app shell sends people to /login). */
export function setUnauthenticatedHandler(handler: UnauthenticatedHandler | null): void {
	onUnauthenticated = handler;
}

export interface CallOptions {
	/** Do not run the global 401 handler (e.g. for login, or probing whether someone is signed in). */
	allowUnauthenticated?: boolean;
}

/**
 * Await an `openapi-fetch` call and return its data, or throw an `ApiError`.
 * Network failures become `ApiError` with status 0 and code `network_error`.
 */
export async function call<D>(request: Promise<Outcome<D>>, options: CallOptions = {}): Promise<D> {
	let outcome: Outcome<D>;
	try {
		outcome = await request;
	} catch (err) {
		throw toApiError(err);
	}
	const { response } = outcome;
	if (!response.ok) {
		const error = parseApiError(response.status, outcome.error, response.headers.get('Retry-After'));
		if (error.status === 401 && !options.allowUnauthenticated) onUnauthenticated?.(error);
		throw error;
	}
	return outcome.data as D;
}

export interface UploadOptions {
	/** Called with 0…1 as the request body is sent. */
	onProgress?: (fraction: number) => void;
	signal?: AbortSignal;
	/** Where to read cookies from (defaults to `document.cookie`). */
	cookies?: () => string;
}

/**
 * POST a multipart form (e.g. a media upload) and report upload progress, which `fetch`
 * cannot do. Same CSRF header, error shape and 401 handling as `call`.
 *
 *   const media = await upload<Media>(`/api/v1/workspaces/${id}/media`, form, { onProgress });
 */
export function upload<D>(url: string, form: FormData, options: UploadOptions = {}): Promise<D> {
	const cookies = options.cookies ?? documentCookies;
	return new Promise<D>((resolve, reject) => {
		if (options.signal?.aborted) {
			reject(new ApiError(0, 'aborted', 'The upload was cancelled.'));
			return;
		}
		const xhr = new XMLHttpRequest();
		xhr.open('POST', url);
		xhr.withCredentials = true;
		const headers = new Headers({ Accept: 'application/json' });
		applyCsrf('POST', headers, cookies());
		headers.forEach((value, key) => xhr.setRequestHeader(key, value));
		xhr.upload.addEventListener('progress', (event) => {
			if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
		});
		xhr.addEventListener('load', () => {
			let body: unknown = xhr.responseText;
			try {
				body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
			} catch {
				// keep the raw text
			}
			if (xhr.status >= 200 && xhr.status < 300) {
				options.onProgress?.(1);
				resolve(body as D);
				return;
			}
			const error = parseApiError(xhr.status, body, xhr.getResponseHeader('Retry-After'));
			if (error.status === 401) onUnauthenticated?.(error);
			reject(error);
		});
		xhr.addEventListener('error', () => reject(toApiError(new TypeError('network'))));
		xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.')));
		options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
		xhr.send(form);
	});
}
